use super::*;

#[test]
fn encrypt_then_decrypt_round_trips() {
    let key = MasterKey::generate();
    let blob = key.encrypt(b"pkcs8 bytes", b"kid1").unwrap();
    assert_eq!(blob.len(), NONCE_LEN + 11 + TAG_LEN);
    assert_eq!(
        key.decrypt(&blob, b"kid1").unwrap().as_slice(),
        b"pkcs8 bytes"
    );
}

#[test]
fn two_encryptions_use_different_nonces() {
    let key = MasterKey::generate();
    assert_ne!(
        key.encrypt(b"x", b"").unwrap(),
        key.encrypt(b"x", b"").unwrap()
    );
}

#[test]
fn decrypt_with_wrong_aad_fails() {
    let key = MasterKey::generate();
    let blob = key.encrypt(b"secret", b"kid1").unwrap();
    assert!(matches!(
        key.decrypt(&blob, b"kid2"),
        Err(MasterKeyError::Decrypt)
    ));
}

#[test]
fn decrypt_with_wrong_key_fails() {
    let blob = MasterKey::generate().encrypt(b"secret", b"kid1").unwrap();
    assert!(matches!(
        MasterKey::generate().decrypt(&blob, b"kid1"),
        Err(MasterKeyError::Decrypt)
    ));
}

#[test]
fn truncated_or_altered_blob_fails_without_panicking() {
    let key = MasterKey::generate();
    let blob = key.encrypt(b"secret", b"a").unwrap();
    for n in 0..blob.len() {
        assert!(
            key.decrypt(&blob[..n], b"a").is_err(),
            "prefix of {n} bytes"
        );
    }
    let mut altered = blob;
    *altered.last_mut().unwrap() ^= 1;
    assert!(key.decrypt(&altered, b"a").is_err());
}

#[test]
fn base64_round_trips_in_standard_and_url_safe_forms() {
    let key = MasterKey::generate();
    let std_form = key.to_base64();
    assert_eq!(std_form.len(), 44);
    let again = MasterKey::from_base64(&format!("  {std_form}\n")).unwrap();
    assert_eq!(again.to_base64(), std_form);
    let url_form = std_form
        .replace('+', "-")
        .replace('/', "_")
        .trim_end_matches('=')
        .to_owned();
    assert_eq!(
        MasterKey::from_base64(&url_form).unwrap().to_base64(),
        std_form
    );
}

#[test]
fn base64_of_wrong_length_or_garbage_is_rejected() {
    assert!(matches!(
        MasterKey::from_base64("AAAA"),
        Err(MasterKeyError::WrongLength)
    ));
    let long = base64::engine::general_purpose::STANDARD.encode([0u8; 33]);
    assert!(matches!(
        MasterKey::from_base64(&long),
        Err(MasterKeyError::WrongLength)
    ));
    assert!(matches!(
        MasterKey::from_base64(&"A".repeat(100)),
        Err(MasterKeyError::WrongLength)
    ));
    assert!(matches!(
        MasterKey::from_base64("not base64!"),
        Err(MasterKeyError::BadEncoding)
    ));
}

#[test]
fn debug_output_is_redacted() {
    assert_eq!(
        format!("{:?}", MasterKey::generate()),
        "MasterKey(<redacted>)"
    );
}

#[test]
fn load_or_create_creates_parent_dir_and_then_loads_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/master.key");
    let (created, was_created) = MasterKey::load_or_create(&path).unwrap();
    assert!(was_created);
    let (loaded, was_created) = MasterKey::load_or_create(&path).unwrap();
    assert!(!was_created);
    assert_eq!(created.to_base64(), loaded.to_base64());
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "temp file removed");
}

#[cfg(unix)]
#[test]
fn created_key_file_has_mode_0600() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    MasterKey::load_or_create(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[cfg(unix)]
#[test]
fn world_readable_key_file_is_refused_with_chmod_hint() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    MasterKey::load_or_create(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = MasterKey::load_or_create(&path).unwrap_err();
    assert!(matches!(
        err,
        MasterKeyError::InsecurePermissions { mode: 0o644, .. }
    ));
    assert!(err.to_string().contains("chmod 600"), "{err}");
}

#[test]
fn existing_key_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let first = MasterKey::generate();
    assert!(first.create_file(&path).unwrap());
    let second = MasterKey::generate();
    assert!(!second.create_file(&path).unwrap(), "second writer loses");
    let (loaded, _) = MasterKey::load_or_create(&path).unwrap();
    assert_eq!(loaded.to_base64(), first.to_base64());
}
