//! `gatehouse cert issue|list|revoke` and `gatehouse client set-dns`.
//!
//! `cert issue` generates the private key on this machine and sends only a CSR to the admin
//! API, so the key never crosses the network; it writes `cert.pem` (the certificate, then any
//! intermediate), `key.pem` and `bundle.pem` (the CA to trust), each 0600, atomically.

use gatehouse_proto::admin::{List, SetDnsNames};
use gatehouse_proto::ca::{CertificateView, SignRequest, SignedCertificate};
use reqwest::Method;
use serde_json::json;

use super::{Output, Result, enc};
use crate::admin_client::AdminClient;
use crate::cli::CertCmd;
use crate::{CliError, fsutil};

/// Runs one `cert` subcommand.
pub(super) async fn run(c: &AdminClient, cmd: &CertCmd) -> Result<Output> {
    match cmd {
        CertCmd::Issue {
            client,
            dns_names,
            ttl,
            out,
        } => {
            let (csr, key) = gatehouse_ca::csr::generate_request(dns_names)
                .map_err(|e| CliError::Failed(format!("generating a key: {e}")))?;
            let body = SignRequest {
                csr,
                ttl: ttl.clone(),
            };
            let path = format!("/admin/v1/clients/{}/certificates", enc(client));
            let signed: SignedCertificate = c.call(Method::POST, &path, Some(&body)).await?;
            let write = |name: &str, data: &[u8]| {
                let p = out.join(name);
                fsutil::write_private_file(&p, data)
                    .map_err(|e| CliError::Failed(format!("writing {}: {e}", p.display())))
            };
            write("key.pem", key.as_bytes())?;
            write("cert.pem", signed.chain.as_bytes())?;
            write("bundle.pem", signed.bundle.as_bytes())?;
            let human = format!(
                "serial:     {}\nspiffe_id:  {}\ndns:        {}\nnot_after:  {}\nwrote {}/{{cert,key,bundle}}.pem",
                signed.serial,
                signed.spiffe_id,
                signed.dns_names.join(", "),
                signed.not_after,
                out.display()
            );
            Ok(Output::new(
                json!({
                    "serial": signed.serial,
                    "spiffe_id": signed.spiffe_id,
                    "dns_names": signed.dns_names,
                    "not_before": signed.not_before,
                    "not_after": signed.not_after,
                    "dir": out,
                }),
                human,
            ))
        }
        CertCmd::List { client } => {
            let path = match client {
                Some(id) => format!("/admin/v1/clients/{}/certificates", enc(id)),
                None => "/admin/v1/certificates".to_owned(),
            };
            let list: List<CertificateView> = c.call::<(), _>(Method::GET, &path, None).await?;
            let human = list
                .items
                .iter()
                .map(|v| {
                    format!(
                        "{}  {:<24} not_after={}{}",
                        v.serial,
                        v.client_id,
                        v.not_after,
                        v.revoked_at
                            .map_or_else(String::new, |t| format!("  revoked_at={t}"))
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output::new(
                serde_json::to_value(&list).unwrap_or_default(),
                human,
            ))
        }
        CertCmd::Revoke { serial } => {
            let path = format!("/admin/v1/certificates/{}/revoke", enc(serial));
            let _: serde_json::Value = c.call::<(), _>(Method::POST, &path, None).await?;
            Ok(Output::new(
                json!({"revoked": serial}),
                format!("revoked certificate {serial}"),
            ))
        }
    }
}

/// `client set-dns`.
pub(super) async fn set_dns(c: &AdminClient, id: &str, dns_names: &[String]) -> Result<Output> {
    let body = SetDnsNames {
        dns_names: dns_names.to_vec(),
    };
    let path = format!("/admin/v1/clients/{}/dns-names", enc(id));
    let client: serde_json::Value = c.call(Method::PUT, &path, Some(&body)).await?;
    let names = client
        .get("dns_names")
        .cloned()
        .unwrap_or_else(|| json!([]));
    Ok(Output::new(
        json!({"client_id": id, "dns_names": names}),
        format!("client {id} may be certified for: {names}"),
    ))
}
