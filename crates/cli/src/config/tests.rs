use gatehouse_core::MapEnv;

use super::*;

#[test]
fn defaults_are_the_embedded_quickstart() {
    let c = resolve_with(&Flags::default(), &MapEnv::default(), RawConfig::default()).unwrap();
    assert_eq!(c.listen, "127.0.0.1:7070".parse().unwrap());
    assert_eq!(c.data_dir, PathBuf::from("./gatehouse-data"));
    assert_eq!(c.database_url, "sqlite:./gatehouse-data/gatehouse.db");
    assert_eq!(
        c.master_key_file,
        PathBuf::from("./gatehouse-data/master.key")
    );
    assert_eq!(c.issuer, None);
    assert_eq!(c.default_token_ttl, Duration::from_secs(900));
}

#[test]
fn flag_beats_env_beats_file() {
    let file = parse_str(
        "listen = \"127.0.0.1:1111\"\ndata_dir = \"/file\"\nissuer = \"https://file.example\"",
    )
    .unwrap();
    let env = MapEnv::from_pairs([
        ("GATEHOUSE_LISTEN", "127.0.0.1:2222"),
        ("GATEHOUSE_DATA_DIR", "/env"),
    ]);
    let flags = Flags {
        listen: Some("127.0.0.1:3333".into()),
        ..Flags::default()
    };
    let c = resolve_with(&flags, &env, file).unwrap();
    assert_eq!(c.listen.port(), 3333);
    assert_eq!(c.data_dir, PathBuf::from("/env"));
    assert_eq!(c.issuer.as_deref(), Some("https://file.example"));
}

#[test]
fn empty_env_values_count_as_unset() {
    let env = MapEnv::from_pairs([
        ("GATEHOUSE_BOOTSTRAP_ADMIN_TOKEN", ""),
        ("GATEHOUSE_LISTEN", ""),
    ]);
    let c = resolve_with(&Flags::default(), &env, RawConfig::default()).unwrap();
    assert_eq!(c.bootstrap_admin_token, None);
    assert_eq!(c.listen.port(), 7070);
}

#[test]
fn unknown_field_is_an_error_naming_it() {
    let e = parse_str("[tokens]\ndefault_tll = \"5m\"").unwrap_err();
    assert!(e.contains("default_tll"), "{e}");
}

#[test]
fn bad_duration_names_the_field() {
    let file = parse_str("[tokens]\nmax_ttl = \"forever\"").unwrap();
    let e = resolve_with(&Flags::default(), &MapEnv::default(), file).unwrap_err();
    assert!(e.to_string().starts_with("tokens.max_ttl:"), "{e}");
}

#[test]
fn bad_listen_address_names_the_field() {
    let flags = Flags {
        listen: Some("localhost".into()),
        ..Flags::default()
    };
    let e = resolve_with(&flags, &MapEnv::default(), RawConfig::default()).unwrap_err();
    assert!(e.to_string().starts_with("listen:"), "{e}");
}

#[test]
fn issuer_with_query_is_refused() {
    let flags = Flags {
        issuer: Some("https://a.example/?x=1".into()),
        ..Flags::default()
    };
    assert!(resolve_with(&flags, &MapEnv::default(), RawConfig::default()).is_err());
}

#[test]
fn weak_bootstrap_admin_token_is_refused() {
    let env = MapEnv::from_pairs([("GATEHOUSE_BOOTSTRAP_ADMIN_TOKEN", "short")]);
    assert!(resolve_with(&Flags::default(), &env, RawConfig::default()).is_err());
}
