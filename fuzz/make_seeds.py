#!/usr/bin/env python3
"""Writes the seed corpora in seeds/<target>/ (run once; the output is committed).

    python3 make_seeds.py            # every target
    python3 make_seeds.py ca_csr     # only the named targets (the others' files stay as they are)

Uses the RFC 7515 appendix A.3 P-256 key (kid "a") and the RFC 8037 appendix A.1 Ed25519 key:
the same public keys that gatehouse_keys::fuzzing uses, so the signed seeds verify and the
fuzzer starts from inputs that reach the end of the verification path.
Needs only the `cryptography` package.
"""
import base64
import datetime
import json
import pathlib
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ROOT = pathlib.Path(__file__).resolve().parent / "seeds"
ISSUER = "http://127.0.0.1:7070"
TOKEN_URL = ISSUER + "/oauth2/token"
CLIENT = "app_5xq3Jt0mYwR2cVb7nLd9Ke"
IAT = 1_700_000_000


def b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seg(obj) -> str:
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


EC_KEY = ec.derive_private_key(
    int.from_bytes(unb64u("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"), "big"), ec.SECP256R1()
)
ED_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(
    unb64u("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
)
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sign(header: dict, claims: dict) -> str:
    signing_input = f"{seg(header)}.{seg(claims)}".encode()
    alg = header["alg"]
    if alg == "ES256":
        r, s = decode_dss_signature(EC_KEY.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "EdDSA":
        sig = ED_KEY.sign(signing_input)
    elif alg == "RS256":
        sig = RSA_KEY.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "PS256":
        sig = RSA_KEY.sign(
            signing_input,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
    else:  # alg none / HS256 seeds: an arbitrary signature
        sig = b"\x00" * 32 if alg != "none" else b""
    return f"{signing_input.decode()}.{b64u(sig)}"


def assertion_claims(aud=TOKEN_URL, **extra) -> dict:
    claims = {"iss": CLIENT, "sub": CLIENT, "aud": aud, "iat": IAT, "exp": IAT + 300,
              "jti": "jti-0001"}
    claims.update(extra)
    return claims


def rsa_jwks(alg: str) -> str:
    nums = RSA_KEY.public_key().public_numbers()
    n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
    return json.dumps({"keys": [{"kty": "RSA", "kid": "r1", "alg": alg, "use": "sig",
                                 "n": b64u(n), "e": b64u(nums.e.to_bytes(3, "big"))}]},
                      separators=(",", ":"))


TARGETS = ["token_form", "client_assertion", "jws_verify", "ca_csr"]
SELECTED = set(TARGETS)


def write(target: str, name: str, data) -> None:
    if target not in SELECTED:
        return
    path = ROOT / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def csr(key, names=(), hash_alg=hashes.SHA256()) -> x509.CertificateSigningRequest:
    """A PKCS#10 request with an empty subject (as gatehouse_ca::csr::generate_request makes)
    and, when given, a subjectAltName extension request."""
    b = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    if names:
        b = b.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return b.sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hash_alg)


def cert(subject: str, key, issuer_name: str, issuer_key, ca: bool, sans=()) -> x509.Certificate:
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, subject)]))
         .issuer_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, issuer_name)]))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(start)
         .not_valid_after(start + datetime.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def ca_seeds() -> None:
    """CSRs as a workload sends them to /ca/v1/sign, and PEM chains (both hooks see every file)."""
    pem = serialization.Encoding.PEM
    der = serialization.Encoding.DER
    t = "ca_csr"
    dns = x509.DNSName
    write(t, "csr_p256.pem", csr(EC_KEY).public_bytes(pem))
    write(t, "csr_p256.der", csr(EC_KEY).public_bytes(der))
    write(t, "csr_p256_dns.pem", csr(EC_KEY, [dns("orders.internal"), dns("Orders-2.Internal")])
          .public_bytes(pem))
    p384 = ec.generate_private_key(ec.SECP384R1())
    write(t, "csr_p384_dns.der", csr(p384, [dns("a.example")], hashes.SHA384()).public_bytes(der))
    write(t, "csr_ed25519.pem", csr(ED_KEY).public_bytes(pem))
    write(t, "csr_rsa2048.der", csr(RSA_KEY).public_bytes(der))
    write(t, "csr_uri_forbidden.pem", csr(EC_KEY, [
        x509.UniformResourceIdentifier("spiffe://gatehouse.local/app/app_x")]).public_bytes(pem))
    write(t, "csr_ip_forbidden.der", csr(EC_KEY, [
        x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]).public_bytes(der))
    good = bytearray(csr(EC_KEY).public_bytes(der))
    good[-3] ^= 0x01  # inside the signature's last INTEGER: parses, does not verify
    write(t, "csr_bad_signature.der", bytes(good))
    write(t, "csr_trailing_bytes.der", csr(EC_KEY).public_bytes(der) + b"\x00\x00")
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = cert("seed root", root_key, "seed root", root_key, ca=True)
    leaf = cert("app_5xq3Jt0mYwR2cVb7nLd9Ke", EC_KEY, "seed root", root_key, ca=False, sans=[
        x509.UniformResourceIdentifier(f"spiffe://gatehouse.local/app/{CLIENT}")])
    write(t, "chain_leaf_root.pem", leaf.public_bytes(pem) + root.public_bytes(pem))
    write(t, "chain_with_text.pem", b"subject=CN = seed root\n" + root.public_bytes(pem) + b"trailer\n")
    write(t, "not_a_certificate.pem", b"-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n")


def main() -> None:
    unknown = set(sys.argv[1:]) - set(TARGETS)
    if unknown:
        sys.exit(f"unknown targets {sorted(unknown)}; known: {', '.join(TARGETS)}")
    SELECTED.intersection_update(sys.argv[1:] or TARGETS)
    ca_seeds()
    es256 = sign({"alg": "ES256", "typ": "JWT", "kid": "a"}, assertion_claims())
    # authlib's private_key_jwt: no kid, exp = iat + 3600, aud = token endpoint.
    authlib = sign({"alg": "ES256", "typ": "JWT"}, assertion_claims(exp=IAT + 3600, jti="0f3c9e2a"))
    eddsa = sign({"alg": "EdDSA"}, assertion_claims(aud=[ISSUER, TOKEN_URL], jti="jti-0002"))

    form = "token_form"
    write(form, "basic_resource", "grant_type=client_credentials&resource=https%3A%2F%2Forders.example")
    write(form, "basic_scope", "grant_type=client_credentials&scope=orders%3Aread+orders%3Awrite")
    write(form, "secret_post", f"grant_type=client_credentials&client_id={CLIENT}"
          "&client_secret=gatehouse_cs_3kP9xQ2mW7zR5tY8uV1nB4cD6fG0hJa8Lm2Np4Qr6St8Uv0Wx&audience=https%3A%2F%2Forders.example")
    write(form, "resource_repeated", "grant_type=client_credentials&resource=https%3A%2F%2Forders.example"
          "&resource=https%3A%2F%2Fbilling.example&scope=orders%3Aread")
    write(form, "azure_default_scope", "grant_type=client_credentials"
          "&scope=https%3A%2F%2Forders.example%2F.default")
    write(form, "private_key_jwt", "grant_type=client_credentials&client_assertion_type="
          "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
          f"&client_assertion={es256}&resource=https%3A%2F%2Forders.example")
    write(form, "introspect", f"token={es256}&token_type_hint=access_token")
    write(form, "empty_values_and_percent", "grant_type=client_credentials&scope=&=x&%E2%9C%93=%2B+%20")
    write(form, "duplicate_grant_type", "grant_type=client_credentials&grant_type=password")
    write(form, "bad_utf8_escape", "grant_type=client_credentials&scope=%FF%FE")

    ca = "client_assertion"
    write(ca, "es256_kid", es256)
    write(ca, "es256_authlib_no_kid", authlib)
    write(ca, "eddsa_aud_array", eddsa)
    write(ca, "rs256_with_jwks", rsa_jwks("RS256") + "\n" + sign(
        {"alg": "RS256", "kid": "r1"}, assertion_claims(jti="jti-0003")))
    write(ca, "ps256_with_jwks", rsa_jwks("PS256") + "\n" + sign(
        {"alg": "PS256", "kid": "r1"}, assertion_claims(jti="jti-0004")))
    write(ca, "alg_none", sign({"alg": "none"}, assertion_claims(jti="jti-0005")))
    write(ca, "hs256", sign({"alg": "HS256"}, assertion_claims(jti="jti-0006")))
    write(ca, "iss_ne_sub", sign({"alg": "ES256", "kid": "a"}, assertion_claims(sub="someone-else")))

    jv = "jws_verify"
    access = sign({"alg": "ES256", "typ": "at+jwt", "kid": "a"}, {
        "iss": ISSUER, "sub": CLIENT, "client_id": CLIENT, "aud": "https://orders.example",
        "scope": "orders:read orders:write", "iat": IAT, "exp": IAT + 900, "jti": "at-0001"})
    write(jv, "at_jwt_es256", access)
    write(jv, "unknown_kid", access.replace(seg({"alg": "ES256", "typ": "at+jwt", "kid": "a"}),
                                            seg({"alg": "ES256", "typ": "at+jwt", "kid": "zz"})))
    write(jv, "flipped_signature", access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB"))
    write(jv, "eddsa_not_in_ring", eddsa)


if __name__ == "__main__":
    main()
