//! Mutual TLS configuration (rustls with the ring provider).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, OtherError,
    RootCertStore, ServerConfig, SignatureScheme,
};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot load certificates from {0}: {1}")]
    Certs(String, String),
    #[error("cannot load private key from {0}: {1}")]
    Key(String, String),
    #[error("TLS configuration error: {0}")]
    Config(String),
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
}

/// The ring provider, with AES-128-GCM preferred (as fast as it is safe;
/// the other suites stay available, in their default order).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    use rustls::CipherSuite as C;
    let mut p = rustls::crypto::ring::default_provider();
    p.cipher_suites.sort_by_key(|s| match s.suite() {
        C::TLS13_AES_128_GCM_SHA256 => 0,
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 | C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 1,
        _ => 2,
    });
    Arc::new(p)
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |e: String| TlsError::Certs(path.display().to_string(), e);
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no certificate found".into()));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| TlsError::Key(path.display().to_string(), e.to_string()))
}

fn load_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for c in load_certs(path)? {
        roots
            .add(c)
            .map_err(|e| TlsError::Certs(path.display().to_string(), e.to_string()))?;
    }
    Ok(roots)
}

/// The names a certificate identifies its holder by: its subjectAltName
/// DNS names and IP addresses, or its subject common name if it has no
/// subjectAltName.
pub fn cert_names(der: &[u8]) -> Result<Vec<String>, String> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("unreadable certificate: {e}"))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| format!("bad subjectAltName: {e}"))?;
    let mut names = Vec::new();
    match san {
        Some(san) => {
            for n in &san.value.general_names {
                match n {
                    GeneralName::DNSName(d) => names.push(d.to_ascii_lowercase()),
                    GeneralName::IPAddress(b) => {
                        if let Ok(a) = <[u8; 4]>::try_from(*b) {
                            names.push(std::net::Ipv4Addr::from(a).to_string());
                        } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                            names.push(std::net::Ipv6Addr::from(a).to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        None => {
            for cn in cert.subject().iter_common_name() {
                if let Ok(s) = cn.as_str() {
                    names.push(s.to_ascii_lowercase());
                }
            }
        }
    }
    Ok(names)
}

/// Check that a client certificate is meant for TLS clients (extended key
/// usage clientAuth, which a server certificate lacks) and names one of
/// `allowed` (`*` = any name). Returns the identity: the first allowed name.
pub fn client_identity(der: &[u8], allowed: &[String]) -> Result<String, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("unreadable certificate: {e}"))?;
    let eku = cert
        .extended_key_usage()
        .map_err(|e| format!("bad extended key usage: {e}"))?;
    if !eku.is_some_and(|e| e.value.client_auth) {
        return Err(
            "the certificate is not for TLS clients (no clientAuth extended key usage)".into(),
        );
    }
    let names = cert_names(der)?;
    let any = allowed.iter().any(|a| a == "*");
    names
        .iter()
        .find(|n| any || allowed.iter().any(|a| a.eq_ignore_ascii_case(n)))
        .cloned()
        .ok_or_else(|| format!("certificate names {names:?} are not in tls.clients"))
}

#[derive(Debug)]
struct IdentityError(String);

impl std::fmt::Display for IdentityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IdentityError {}

/// The CA's verdict, and then the identity check (`client_identity`).
#[derive(Debug)]
struct IdentityVerifier {
    chain: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

impl ClientCertVerifier for IdentityVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.chain.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.chain
            .verify_client_cert(end_entity, intermediates, now)?;
        client_identity(end_entity, &self.allowed).map_err(|why| {
            rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
                IdentityError(why),
            ))))
        })?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain.supported_verify_schemes()
    }
}

/// Server side: present `cert`/`key`, require a client certificate signed
/// by `client_ca`, for TLS clients, naming one of `clients`.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: &Path,
    clients: &[String],
) -> Result<ServerConfig, TlsError> {
    let roots = load_roots(client_ca)?;
    let chain = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let verifier = Arc::new(IdentityVerifier {
        chain,
        allowed: clients.to_vec(),
    });
    ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(load_certs(cert)?, load_key(key)?)
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// Client side: trust `ca`, present `cert`/`key`.
pub fn client_config(ca: &Path, cert: &Path, key: &Path) -> Result<ClientConfig, TlsError> {
    let roots = load_roots(ca)?;
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
        .map_err(|e| TlsError::Config(e.to_string()))
}

/// Parse a server name (DNS name or IP address).
pub fn server_name(name: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(name.to_string()).map_err(|_| TlsError::ServerName(name.to_string()))
}
