//! What the object store keeps about a bucket beside its objects: its
//! policy, as the client sent it, in `.berth-buckets/<bucket>/policy.json`
//! under the data directory. The storage never sees that directory as a
//! bucket (a name starting with `.` is not a bucket's), and a bucket that
//! is deleted takes its configuration with it.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::fsutil;

const DIR: &str = ".berth-buckets";
const POLICY: &str = "policy.json";

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

    /// Forget a deleted bucket's configuration.
    pub fn remove(&self, bucket: &str) {
        let _ = std::fs::remove_dir_all(self.of(bucket));
    }
}
