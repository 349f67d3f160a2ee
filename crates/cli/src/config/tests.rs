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

fn resolve_toml(toml: &str) -> Result<Config, ConfigError> {
    resolve_with(
        &Flags::default(),
        &MapEnv::default(),
        parse_str(toml).unwrap(),
    )
}

#[test]
fn the_ca_runs_by_default_for_gatehouse_local_with_24h_leaves() {
    let c = resolve_toml("").unwrap();
    let ca = c.ca.expect("on by default");
    assert_eq!(ca.trust_domain.as_str(), "gatehouse.local");
    assert_eq!(ca.policy.default, Duration::from_secs(86_400));
    assert_eq!(ca.policy.max, Duration::from_secs(7 * 86_400));
    assert!(!ca.intermediate && ca.import.is_none());
    assert!(c.tls.is_none(), "no HTTPS listener unless configured");
    assert!(resolve_toml("[ca]\nenabled = false").unwrap().ca.is_none());
}

#[test]
fn ca_settings_are_validated_naming_the_field() {
    for (toml, field) in [
        ("[ca]\ntrust_domain = \"Not Valid\"", "ca.trust_domain"),
        ("[ca]\ndefault_ttl = \"8d\"", "ca.default_ttl"),
        ("[ca]\nmax_ttl = \"100d\"", "ca.max_ttl"),
        ("[ca]\ndefault_ttl = \"30s\"", "ca.default_ttl"),
        ("[ca]\ncert_file = \"ca.pem\"", "ca.cert_file"),
        (
            "[ca]\ncert_file = \"a\"\nkey_file = \"b\"\nintermediate = true",
            "ca.intermediate",
        ),
    ] {
        let e = resolve_toml(toml).unwrap_err().to_string();
        assert!(e.starts_with(field), "{toml}: {e}");
    }
}

#[test]
fn the_tls_listener_issues_its_certificate_or_reads_files() {
    let c = resolve_toml("[tls]\nlisten = \"127.0.0.1:7443\"").unwrap();
    let t = c.tls.unwrap();
    assert_eq!(
        t.cert,
        ServerCertSource::Issued {
            hosts: vec!["localhost".into()]
        }
    );
    assert_eq!(t.client_certs, gatehouse_net::ClientCerts::Request);
    let c = resolve_toml(
        "[tls]\nlisten = \"127.0.0.1:7443\"\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\nclient_certs = \"off\"\npublic_url = \"https://gh.example:7443/\"",
    )
    .unwrap();
    let t = c.tls.unwrap();
    assert!(matches!(t.cert, ServerCertSource::Files(_)));
    assert_eq!(t.public_url.as_deref(), Some("https://gh.example:7443"));
    for (toml, field) in [
        ("[tls]\nhosts = [\"a\"]", "tls.listen"),
        ("[tls]\nlisten = \"nope\"", "tls.listen"),
        (
            "[tls]\nlisten = \"127.0.0.1:1\"\ncert_file = \"c\"",
            "tls.cert_file",
        ),
        (
            "[tls]\nlisten = \"127.0.0.1:1\"\ncert_file = \"c\"\nkey_file = \"k\"\nhosts = [\"a\"]",
            "tls.hosts",
        ),
        ("[tls]\nlisten = \"127.0.0.1:1\"\nhosts = []", "tls.hosts"),
        (
            "[tls]\nlisten = \"127.0.0.1:1\"\nhosts = [\"bad host\"]",
            "tls.hosts",
        ),
        (
            "[tls]\nlisten = \"127.0.0.1:1\"\nclient_certs = \"require\"",
            "tls.client_certs",
        ),
        (
            "[tls]\nlisten = \"127.0.0.1:1\"\npublic_url = \"http://x\"",
            "tls.public_url",
        ),
        (
            "[ca]\nenabled = false\n[tls]\nlisten = \"127.0.0.1:1\"",
            "tls.cert_file",
        ),
    ] {
        let e = resolve_toml(toml).unwrap_err().to_string();
        assert!(e.starts_with(field), "{toml}: {e}");
    }
}

#[test]
fn the_example_configs_are_valid() {
    for name in ["gatehouse.toml", "mtls.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name);
        let raw = read_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        resolve_with(&Flags::default(), &MapEnv::default(), raw)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
