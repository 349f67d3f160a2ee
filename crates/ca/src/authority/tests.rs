use std::time::Duration;

use gatehouse_core::UnixTime;
use rcgen::{CertificateParams, KeyPair, SanType};
use rustls::pki_types::CertificateDer;

use super::*;
use crate::{Usage, csr, identity_of};

const NOW: UnixTime = UnixTime(1_800_000_000);

fn td() -> TrustDomain {
    TrustDomain::new("prod.example").expect("valid")
}

fn root() -> (Authority, StoredAuthority) {
    Authority::generate(td(), false, LifetimePolicy::default(), NOW).expect("generate")
}

fn chain_of(issued: &IssuedCertificate) -> Vec<CertificateDer<'static>> {
    parse_pem_certificates(&issued.chain_pem).expect("chain")
}

fn csr_pem(key: &KeyPair, sans: Vec<SanType>) -> String {
    let mut params = CertificateParams::default();
    params.subject_alt_names = sans;
    params
        .serialize_request(key)
        .expect("csr")
        .pem()
        .expect("pem")
}

fn req<'a>(dns: &'a [String], allowed: &'a [String]) -> LeafRequest<'a> {
    LeafRequest {
        client_id: "billing",
        dns_names: dns,
        allowed_dns: allowed,
        lifetime: None,
    }
}

#[test]
fn issued_leaf_is_a_spiffe_svid_that_verifies_for_client_and_server() {
    let (ca, _) = root();
    let (leaf, key_pem) = ca.issue_with_new_key(req(&[], &[]), NOW).expect("issue");
    assert!(key_pem.contains("PRIVATE KEY"));
    assert_eq!(leaf.spiffe_id, "spiffe://prod.example/app/billing");
    assert_eq!(leaf.not_after, UnixTime(NOW.0 + 86_400));
    assert_eq!(leaf.serial.len(), 32);
    let verifier = ca.verifier().expect("verifier");
    for usage in [Usage::Client, Usage::Server] {
        let id = verifier
            .verify(&chain_of(&leaf), NOW, usage)
            .expect("verifies");
        assert_eq!(id.san_uris, vec![leaf.spiffe_id.clone()]);
        assert_eq!(id.serial, leaf.serial);
        assert_eq!(id.subject, "CN=billing");
    }

    let (_, cert) = x509_parser::parse_x509_certificate(leaf.der.as_ref()).expect("x509");
    assert!(!cert.is_ca());
    let bc = cert.basic_constraints().expect("ok").expect("present");
    assert!(!bc.value.ca);
    let ku = cert.key_usage().expect("ok").expect("present");
    assert!(ku.critical);
    assert!(ku.value.digital_signature());
    assert!(!ku.value.key_cert_sign());
    let eku = cert.extended_key_usage().expect("ok").expect("present");
    assert!(eku.value.client_auth && eku.value.server_auth);
}

#[test]
fn validity_follows_the_injected_clock() {
    let (ca, _) = root();
    let (leaf, _) = ca.issue_with_new_key(req(&[], &[]), NOW).expect("issue");
    let v = ca.verifier().expect("verifier");
    let chain = chain_of(&leaf);
    assert!(
        v.verify(&chain, UnixTime(NOW.0 + 86_399), Usage::Client)
            .is_ok()
    );
    assert!(
        v.verify(&chain, UnixTime(NOW.0 + 86_401), Usage::Client)
            .is_err(),
        "expired"
    );
    assert!(
        v.verify(&chain, UnixTime(NOW.0 - 120), Usage::Client)
            .is_err(),
        "not yet valid"
    );
}

#[test]
fn another_ca_does_not_verify_our_leaves() {
    let (ca, _) = root();
    let (other, _) = root();
    let (leaf, _) = ca.issue_with_new_key(req(&[], &[]), NOW).expect("issue");
    assert!(
        other
            .verifier()
            .expect("verifier")
            .verify(&chain_of(&leaf), NOW, Usage::Client)
            .is_err()
    );
}

#[test]
fn intermediate_signs_leaves_and_is_sent_in_the_chain() {
    let (ca, stored) =
        Authority::generate(td(), true, LifetimePolicy::default(), NOW).expect("generate");
    assert_eq!(
        parse_pem_certificates(&stored.chain_pem)
            .expect("pem")
            .len(),
        2
    );
    let (leaf, _) = ca.issue_with_new_key(req(&[], &[]), NOW).expect("issue");
    let chain = chain_of(&leaf);
    assert_eq!(chain.len(), 2);
    let v = ca.verifier().expect("verifier");
    assert!(v.verify(&chain, NOW, Usage::Client).is_ok());
    assert!(
        v.verify(&chain[..1], NOW, Usage::Client).is_err(),
        "the leaf alone does not chain to the root"
    );
}

#[test]
fn stored_authority_round_trips() {
    let (_, stored) = root();
    let ca = Authority::from_stored(td(), &stored, LifetimePolicy::default()).expect("load");
    let (leaf, _) = ca.issue_with_new_key(req(&[], &[]), NOW).expect("issue");
    let again = Authority::from_stored(td(), &stored, LifetimePolicy::default()).expect("load");
    assert!(
        again
            .verifier()
            .expect("verifier")
            .verify(&chain_of(&leaf), NOW, Usage::Client)
            .is_ok()
    );
    assert!(!format!("{stored:?}").contains(&format!("{:?}", &stored.key_pkcs8[..8])));
}

#[test]
fn import_refuses_a_key_of_another_certificate_and_a_non_ca() {
    let (_, a) = root();
    let other = KeyPair::generate().expect("key");
    let err = Authority::import(
        td(),
        &a.chain_pem,
        &other.serialize_pem(),
        LifetimePolicy::default(),
    )
    .expect_err("mismatch");
    assert!(matches!(err, CaError::BadAuthority(_)), "{err}");

    let (ca, _) = root();
    let (leaf, key) = ca.issue_with_new_key(req(&[], &[]), NOW).expect("issue");
    let err = Authority::import(td(), &leaf.cert_pem, &key, LifetimePolicy::default())
        .expect_err("not a CA");
    assert!(err.to_string().contains("not a CA"), "{err}");

    let err =
        Authority::import(td(), "garbage", &key, LifetimePolicy::default()).expect_err("malformed");
    assert!(matches!(err, CaError::Malformed { .. }), "{err}");
}

#[test]
fn imported_ca_issues_verifiable_leaves() {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    let cert = params.self_signed(&key).expect("self-signed");
    let (ca, stored) = Authority::import(
        td(),
        &cert.pem(),
        &key.serialize_pem(),
        LifetimePolicy::default(),
    )
    .expect("import");
    assert_eq!(
        parse_pem_certificates(&stored.chain_pem)
            .expect("pem")
            .len(),
        1
    );
    let (leaf, _) = ca.issue_with_new_key(req(&[], &[]), NOW).expect("issue");
    assert!(
        ca.verifier()
            .expect("verifier")
            .verify(&chain_of(&leaf), NOW, Usage::Client)
            .is_ok()
    );
}

#[test]
fn csr_dns_names_must_be_registered() {
    let (ca, _) = root();
    let key = KeyPair::generate().expect("key");
    let pem = csr_pem(
        &key,
        vec![SanType::DnsName(
            "Billing.internal".try_into().expect("ia5"),
        )],
    );
    let csr = csr::parse(pem.as_bytes()).expect("csr");
    assert_eq!(csr.dns_names, vec!["billing.internal".to_owned()]);
    let allowed = vec!["billing.internal".to_owned()];
    let leaf = ca
        .sign_csr(&csr, "billing", &allowed, None, NOW)
        .expect("registered name");
    assert_eq!(leaf.dns_names, allowed);
    let id = identity_of(&leaf.der).expect("identity");
    assert_eq!(id.san_dns, allowed);
    // The certificate carries the CSR's key.
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.der.as_ref()).expect("x509");
    assert_eq!(
        cert.public_key().raw,
        key.subject_public_key_info().as_slice()
    );

    let err = ca
        .sign_csr(&csr, "billing", &[], None, NOW)
        .expect_err("unregistered");
    assert!(matches!(err, CaError::ForbiddenName(_)), "{err}");
}

#[test]
fn csr_asking_for_a_uri_or_ip_is_refused() {
    let key = KeyPair::generate().expect("key");
    let uri = csr_pem(
        &key,
        vec![SanType::URI(
            "spiffe://prod.example/app/admin".try_into().expect("ia5"),
        )],
    );
    assert!(matches!(
        csr::parse(uri.as_bytes()),
        Err(CaError::ForbiddenName(_))
    ));
    let ip = csr_pem(&key, vec![SanType::IpAddress([10, 0, 0, 1].into())]);
    assert!(matches!(
        csr::parse(ip.as_bytes()),
        Err(CaError::ForbiddenName(_))
    ));
}

#[test]
fn csr_signature_and_format_are_checked() {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params.subject_alt_names = vec![];
    let der = params.serialize_request(&key).expect("csr").der().to_vec();
    assert!(csr::parse(&der).is_ok(), "DER accepted");

    let mut tampered = der;
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    assert!(matches!(csr::parse(&tampered), Err(CaError::BadSignature)));

    for bad in [
        &b""[..],
        b"hello",
        b"-----BEGIN CERTIFICATE REQUEST-----\n!!!\n-----END CERTIFICATE REQUEST-----\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        assert!(
            matches!(csr::parse(bad), Err(CaError::Malformed { .. })),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let huge = vec![b'A'; csr::MAX_CSR_BYTES + 1];
    assert!(matches!(csr::parse(&huge), Err(CaError::Malformed { .. })));
}

#[test]
fn csr_key_types() {
    let ed = KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("ed25519");
    assert_eq!(
        csr::parse(csr_pem(&ed, vec![]).as_bytes()).expect("ok").key,
        "Ed25519"
    );
    let p384 = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("p384");
    assert_eq!(
        csr::parse(csr_pem(&p384, vec![]).as_bytes())
            .expect("ok")
            .key,
        "ECDSA P-384"
    );
    let rsa =
        KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).expect("rsa");
    let csr = csr::parse(csr_pem(&rsa, vec![]).as_bytes()).expect("ok");
    assert_eq!(csr.key, "RSA 2048");
    let (ca, _) = root();
    assert!(ca.sign_csr(&csr, "billing", &[], None, NOW).is_ok());
}

#[test]
fn lifetimes_are_capped_and_floored() {
    let (ca, _) = root();
    let mut r = req(&[], &[]);
    r.lifetime = Some(Duration::from_secs(30 * 86_400));
    let (leaf, _) = ca.issue_with_new_key(r, NOW).expect("issue");
    assert_eq!(
        leaf.not_after,
        UnixTime(NOW.0 + 7 * 86_400),
        "capped at max"
    );
    r.lifetime = Some(Duration::from_secs(10));
    assert!(matches!(
        ca.issue_with_new_key(r, NOW),
        Err(CaError::Invalid(_))
    ));
}

#[test]
fn leaves_never_outlive_the_ca() {
    let (ca, _) = root();
    let late = UnixTime(ca.not_after().0 - 3600);
    let (leaf, _) = ca.issue_with_new_key(req(&[], &[]), late).expect("issue");
    assert_eq!(leaf.not_after, ca.not_after());
    assert!(
        ca.issue_with_new_key(req(&[], &[]), UnixTime(ca.not_after().0 + 1))
            .is_err()
    );
}

#[test]
fn client_ids_that_cannot_be_spiffe_segments_are_refused() {
    let (ca, _) = root();
    let mut r = req(&[], &[]);
    r.client_id = "a/b";
    assert!(matches!(
        ca.issue_with_new_key(r, NOW),
        Err(CaError::Invalid(_))
    ));
}

#[test]
fn dns_names_are_validated() {
    assert_eq!(
        validate_dns_name("API.Example.com.").expect("ok"),
        "api.example.com"
    );
    assert_eq!(validate_dns_name("*.svc.local").expect("ok"), "*.svc.local");
    assert_eq!(validate_dns_name("127.0.0.1").expect("ok"), "127.0.0.1");
    assert_eq!(validate_dns_name("::1").expect("ok"), "::1");
    for bad in [
        "",
        "-a.com",
        "a..b",
        "a b",
        "*.",
        "a.*.b",
        &"a".repeat(64),
        "x_y.com",
    ] {
        assert!(validate_dns_name(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn spiffe_bundle_carries_the_root() {
    let (ca, _) = root();
    let bundle = crate::spiffe_bundle(std::slice::from_ref(ca.root()), 3, 300).expect("bundle");
    let key = &bundle["keys"][0];
    assert_eq!(key["use"], "x509-svid");
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(bundle["spiffe_sequence"], 3);
    let x5c = key["x5c"][0].as_str().expect("x5c");
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(x5c)
        .expect("b64");
    assert_eq!(der, ca.root().as_ref());
    assert!(ca.bundle_pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
}

proptest::proptest! {
    #[test]
    fn csr_parser_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
        let _ = csr::parse(&bytes);
        let mut pem = b"-----BEGIN CERTIFICATE REQUEST-----\n".to_vec();
        pem.extend_from_slice(&bytes);
        let _ = csr::parse(&pem);
    }
}

#[test]
fn service_certificates_carry_a_gatehouse_id_and_the_configured_names() {
    let (ca, _) = root();
    let (leaf, _) = ca
        .issue_service_with_new_key("control-plane", &["LocalHost".into()], None, NOW)
        .expect("issue");
    assert_eq!(
        leaf.spiffe_id,
        "spiffe://prod.example/gatehouse/control-plane"
    );
    assert_eq!(leaf.dns_names, vec!["localhost".to_owned()]);
    assert_eq!(
        ca.trust_domain().client_of(&leaf.spiffe_id),
        None,
        "not an application"
    );
    assert!(
        ca.verifier()
            .expect("verifier")
            .verify(&chain_of(&leaf), NOW, Usage::Server)
            .is_ok()
    );
}

#[test]
fn generated_requests_are_signed_with_their_names() {
    let (csr_pem, key_pem) = csr::generate_request(&["a.internal".into()]).expect("request");
    assert!(key_pem.contains("PRIVATE KEY"));
    let csr = csr::parse(csr_pem.as_bytes()).expect("valid CSR");
    assert_eq!(csr.dns_names, vec!["a.internal".to_owned()]);
    assert_eq!(csr.key, "ECDSA P-256");
}

#[test]
fn renewal_is_due_at_two_thirds_of_the_lifetime() {
    let (nb, na) = (UnixTime(1000), UnixTime(1000 + 86_400));
    assert!(!renewal_due(nb, na, UnixTime(1000 + 57_599)));
    assert!(renewal_due(nb, na, UnixTime(1000 + 57_600)));
    assert!(renewal_due(nb, na, UnixTime(2_000_000)), "expired: due");
}
