//! What the object store keeps about a bucket beside its objects: its
//! policy, as the client sent it, and its CORS rules, in
//! `.berth-buckets/<bucket>/` (`policy.json`, `cors.json`) under the data
//! directory. The storage never sees that directory as a
//! bucket (a name starting with `.` is not a bucket's), and a bucket that
//! is deleted takes its configuration with it.

use std::path::{Path, PathBuf};

use s3s::dto::CORSConfiguration;

use crate::error::{Error, Result};
use crate::fsutil;

const DIR: &str = ".berth-buckets";
const POLICY: &str = "policy.json";
const CORS: &str = "cors.json";

#[derive(Clone)]
pub struct BucketConfig {
    dir: PathBuf,
}

impl BucketConfig {
    pub fn under(data: &Path) -> BucketConfig {
        BucketConfig {
            dir: data.join(DIR),
        }
    }

    fn of(&self, bucket: &str) -> PathBuf {
        self.dir.join(bucket)
    }

    pub fn policy(&self, bucket: &str) -> Option<String> {
        std::fs::read_to_string(self.of(bucket).join(POLICY)).ok()
    }

    pub fn set_policy(&self, bucket: &str, policy: &str) -> Result<()> {
        fsutil::create_dir(&self.dir, 0o700)?;
        fsutil::create_dir(&self.of(bucket), 0o700)?;
        fsutil::write_atomic(&self.of(bucket).join(POLICY), policy.as_bytes(), 0o600)
    }

    /// Whether there was a policy to delete.
    pub fn delete_policy(&self, bucket: &str) -> bool {
        std::fs::remove_file(self.of(bucket).join(POLICY)).is_ok()
    }

    pub fn cors(&self, bucket: &str) -> Option<CORSConfiguration> {
        let text = std::fs::read(self.of(bucket).join(CORS)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub fn set_cors(&self, bucket: &str, rules: &CORSConfiguration) -> Result<()> {
        let json = serde_json::to_vec_pretty(rules).map_err(|e| Error::Internal {
            message: format!("CORS rules did not serialize: {e}"),
        })?;
        fsutil::create_dir(&self.dir, 0o700)?;
        fsutil::create_dir(&self.of(bucket), 0o700)?;
        fsutil::write_atomic(&self.of(bucket).join(CORS), &json, 0o600)
    }

    pub fn delete_cors(&self, bucket: &str) {
        let _ = std::fs::remove_file(self.of(bucket).join(CORS));
    }

    /// Forget a deleted bucket's configuration.
    pub fn remove(&self, bucket: &str) {
        let _ = std::fs::remove_dir_all(self.of(bucket));
    }
}
