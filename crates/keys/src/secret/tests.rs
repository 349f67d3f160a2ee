use proptest::prelude::*;

use super::*;

#[test]
fn generated_secret_has_prefix_length_and_charset() {
    for kind in SecretKind::ALL {
        let s = generate(kind);
        let text = s.expose();
        assert!(text.starts_with(kind.prefix()));
        assert_eq!(text.len(), kind.prefix().len() + 49);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        assert_eq!(check_format(kind, text), Ok(()));
        assert_eq!(SecretKind::detect(text), Some(kind));
    }
}

#[test]
fn tampered_character_fails_the_checksum() {
    let s = generate(SecretKind::ApiKey);
    let text = s.expose();
    let mut bytes = text.as_bytes().to_vec();
    let i = SecretKind::ApiKey.prefix().len() + 5;
    bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert_eq!(
        check_format(SecretKind::ApiKey, &tampered),
        Err(SecretFormatError::BadChecksum)
    );
}

#[test]
fn secret_of_another_kind_is_rejected_by_prefix() {
    let s = generate(SecretKind::ClientSecret);
    assert_eq!(
        check_format(SecretKind::ApiKey, s.expose()),
        Err(SecretFormatError::WrongPrefix {
            expected: "gatehouse_ak_"
        })
    );
}

#[test]
fn truncated_and_non_base62_secrets_are_rejected() {
    let s = generate(SecretKind::AdminToken);
    let text = s.expose();
    let truncated = &text[..text.len() - 1];
    assert_eq!(
        check_format(SecretKind::AdminToken, truncated),
        Err(SecretFormatError::WrongLength)
    );
    let bad = format!("{}-", &text[..text.len() - 1]);
    assert_eq!(
        check_format(SecretKind::AdminToken, &bad),
        Err(SecretFormatError::BadCharacter)
    );
    let non_ascii = format!("gatehouse_adm_{}", "é".repeat(24)) + "a";
    assert!(check_format(SecretKind::AdminToken, &non_ascii).is_err());
}

#[test]
fn checksum_is_fixed_width_and_zero_padded() {
    let mut s = String::new();
    push_checksum(&mut s, 0);
    assert_eq!(s, "000000");
    s.clear();
    push_checksum(&mut s, u32::MAX);
    assert_eq!(s, "4gfFC3");
}

#[test]
fn debug_output_is_redacted() {
    let s = generate(SecretKind::ClientSecret);
    assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
}

#[test]
fn digests_compare_equal_only_for_the_same_secret() {
    let a = digest("gatehouse_cs_a");
    assert!(digest_eq(&a, &digest("gatehouse_cs_a")));
    assert!(!digest_eq(&a, &digest("gatehouse_cs_b")));
}

#[test]
fn random_ids_have_prefix_and_22_base62_chars() {
    let id = random_id("app_");
    assert_eq!(id.len(), 26);
    assert!(id[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_ne!(random_id("app_"), id);
    assert_eq!(random_base62(0), "");
    assert_eq!(random_base62(200).len(), 200);
}

proptest! {
    #[test]
    fn any_random_part_round_trips_through_check_format(random in "[0-9A-Za-z]{43}") {
        let mut s = String::from("gatehouse_cs_");
        s.push_str(&random);
        push_checksum(&mut s, crc32fast::hash(random.as_bytes()));
        prop_assert_eq!(check_format(SecretKind::ClientSecret, &s), Ok(()));
    }
}
