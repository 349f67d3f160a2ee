#![allow(
    clippy::cloned_ref_to_slice_refs,
    reason = "one-element chains read better as arrays in tests"
)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::*;

/// 2027-01-15, inside rcgen's default validity window (1975..4096).
const NOW: UnixTime = UnixTime(1_800_000_000);

struct Ca {
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(cn: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).unwrap();
    Ca {
        der: cert.der().clone(),
        issuer: Issuer::new(params, key),
    }
}

fn leaf(
    ca: &Ca,
    cn: &str,
    sans: Vec<SanType>,
    eku: ExtendedKeyUsagePurpose,
) -> CertificateDer<'static> {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.subject_alt_names = sans;
    params.extended_key_usages = vec![eku];
    params.signed_by(&key, &ca.issuer).unwrap().der().clone()
}

fn spiffe(id: &str) -> SanType {
    SanType::URI(id.try_into().unwrap())
}

#[test]
fn a_certificate_from_the_trusted_ca_maps_to_its_spiffe_application() {
    let ca = ca("clients");
    let cert = leaf(
        &ca,
        "billing",
        vec![spiffe("spiffe://gatehouse.local/app/app_billing")],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let mut rules = MtlsRules::new(&[ca.der.clone()]).unwrap();
    rules.trust_domain = Some("gatehouse.local".into());
    let id = rules.verify(&[cert.clone()], NOW).unwrap();
    assert_eq!(id.subject, "CN=billing");
    assert_eq!(id.san_uris, ["spiffe://gatehouse.local/app/app_billing"]);
    assert_eq!(rules.client_for(&id).unwrap(), "app_billing");
    // Another trust domain's SPIFFE ID maps to nothing.
    rules.trust_domain = Some("other.example".into());
    assert_eq!(rules.client_for(&id), Err(CertError::Unmapped));
    // Cached: the same chain verifies again.
    assert_eq!(rules.verify(&[cert], NOW).unwrap(), id);
}

#[test]
fn certificates_from_other_cas_or_for_servers_only_are_untrusted() {
    let trusted = ca("clients");
    let other = ca("other");
    let rules = MtlsRules::new(&[trusted.der.clone()]).unwrap();
    let foreign = leaf(&other, "evil", vec![], ExtendedKeyUsagePurpose::ClientAuth);
    assert_eq!(rules.verify(&[foreign], NOW), Err(CertError::Untrusted));
    let server_only = leaf(&trusted, "web", vec![], ExtendedKeyUsagePurpose::ServerAuth);
    assert_eq!(rules.verify(&[server_only], NOW), Err(CertError::Untrusted));
    // The CA certificate itself is not a client certificate.
    assert_eq!(
        rules.verify(&[trusted.der.clone()], NOW),
        Err(CertError::Untrusted)
    );
    assert_eq!(rules.verify(&[], NOW), Err(CertError::Untrusted));
    assert_eq!(
        rules.verify(&[CertificateDer::from(vec![0x30, 0x03, 1, 2, 3])], NOW),
        Err(CertError::Untrusted)
    );
}

#[test]
fn validity_is_checked_against_the_injected_clock() {
    let ca = ca("clients");
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, "short");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.not_before = rcgen::date_time_ymd(2027, 1, 1);
    params.not_after = rcgen::date_time_ymd(2027, 1, 2);
    let cert = params.signed_by(&key, &ca.issuer).unwrap().der().clone();
    let rules = MtlsRules::new(&[ca.der.clone()]).unwrap();
    let inside = UnixTime(1_798_804_800); // 2027-01-01T12:00Z
    assert!(rules.verify(&[cert.clone()], inside).is_ok());
    assert_eq!(
        rules.verify(&[cert.clone()], NOW),
        Err(CertError::Untrusted)
    );
    assert_eq!(
        rules.verify(&[cert], UnixTime(1_700_000_000)),
        Err(CertError::Untrusted)
    );
}

#[test]
fn allow_lists_and_explicit_identities_decide_who_may_call() {
    let ca = ca("clients");
    let cert = leaf(
        &ca,
        "reports",
        vec![
            SanType::DnsName("reports.internal".try_into().unwrap()),
            spiffe("spiffe://example.org/reports"),
        ],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let mut rules = MtlsRules::new(&[ca.der.clone()]).unwrap();
    let id = rules.verify(&[cert], NOW).unwrap();
    assert_eq!(rules.client_for(&id), Err(CertError::Unmapped));
    rules.identities = vec![(
        CertMatch::SanUri("spiffe://example.org/reports".into()),
        "app_reports".into(),
    )];
    assert_eq!(rules.client_for(&id).unwrap(), "app_reports");
    rules.allowed = vec![CertMatch::SanDns("other.internal".into())];
    assert_eq!(rules.client_for(&id), Err(CertError::NotAllowed));
    rules
        .allowed
        .push(CertMatch::SanDns("REPORTS.internal".into()));
    assert_eq!(rules.client_for(&id).unwrap(), "app_reports");
    rules.allowed = vec![CertMatch::Thumbprint(id.thumbprint)];
    assert!(rules.client_for(&id).is_ok());
    rules.allowed = vec![CertMatch::Subject("CN=reports".into())];
    assert!(rules.client_for(&id).is_ok());
}

#[test]
fn thumbprints_parse_with_or_without_colons() {
    let hex = "ab".repeat(32);
    assert_eq!(parse_thumbprint(&hex), Some([0xab; 32]));
    let colons = vec!["AB"; 32].join(":");
    assert_eq!(parse_thumbprint(&colons), Some([0xab; 32]));
    assert_eq!(parse_thumbprint("abc"), None);
    assert_eq!(parse_thumbprint(&"zz".repeat(32)), None);
}
