//! A Google service account made for one test run: its key file, as Google hands them out, and
//! the check Google's token endpoint makes of a token request signed with it. Shared by the
//! tests of step 06 (`cloud_trace`) and step 07 (`otlp`).

use std::{collections::BTreeMap, path::PathBuf, process::Command};

use base64::{
    Engine, alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use rcgen::KeyPair;
use serde_json::{Value, json};

pub const CLIENT_EMAIL: &str = "tracer@workshop-test-project.iam.gserviceaccount.com";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Base64url, with or without `=` padding: JWTs have none, but gcp_auth pads, and Google takes
/// both.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A service account's key file, in a temporary folder that goes with it.
pub struct ServiceAccount {
    pub folder: tempfile::TempDir,
    /// The JSON key file (`GOOGLE_APPLICATION_CREDENTIALS`).
    pub key_file: PathBuf,
    /// The public half of its RSA key, to check signatures with.
    pub public_key: Vec<u8>,
}

impl ServiceAccount {
    /// A new account of `project_id`, whose key sends token requests to `token_uri`.
    pub fn create(project_id: &str, token_uri: &str) -> ServiceAccount {
        let folder = tempfile::tempdir().unwrap();
        let key = generate_rsa_key(&folder.path().join("rsa-key.pem"));
        let key_file = folder.path().join("key.json");
        let contents = json!({
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": "0123456789abcdef",
            "private_key": key.serialize_pem(),
            "client_email": CLIENT_EMAIL,
            "client_id": "100000000000000000000",
            "token_uri": token_uri,
        });
        std::fs::write(&key_file, contents.to_string()).unwrap();
        ServiceAccount {
            public_key: key.public_key_raw().to_vec(),
            folder,
            key_file,
        }
    }
}

/// An RSA key, as Google's service-account keys are (gcp_auth signs with RS256 only). ring,
/// the crypto library here, cannot make RSA keys; openssl can.
fn generate_rsa_key(path: &std::path::Path) -> KeyPair {
    let output = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    KeyPair::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Checks a token request as Google's token endpoint does: a JWT bearer grant whose assertion
/// is signed (RS256) with the account's key (`public_key`). Returns the JWT's claims.
pub fn check_token_request(body: &[u8], public_key: &[u8]) -> Result<Value, String> {
    let form: BTreeMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some(JWT_BEARER) {
        return Err(format!("grant_type is not {JWT_BEARER}"));
    }
    let jwt = form.get("assertion").ok_or("no assertion")?;
    let (signed, signature) = jwt.rsplit_once('.').ok_or("the JWT has no signature")?;
    let signature = BASE64URL
        .decode(signature)
        .map_err(|error| format!("signature: {error}"))?;
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public_key,
    )
    .verify(signed.as_bytes(), &signature)
    .map_err(|_| "the JWT is not signed with the service account's key".to_owned())?;
    let (header, claims) = signed.split_once('.').ok_or("the JWT has no claims")?;
    let decode = |part: &str| -> Result<Value, String> {
        let bytes = BASE64URL.decode(part).map_err(|error| error.to_string())?;
        serde_json::from_slice(&bytes).map_err(|error| error.to_string())
    };
    if decode(header)?["alg"] != "RS256" {
        return Err("the JWT is not RS256".into());
    }
    decode(claims)
}
