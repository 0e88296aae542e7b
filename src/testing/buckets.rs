//! Isolated object storage for one test: a bucket of its own on the
//! stack's object store (`bt-<pid>-<start>-<n>`), emptied and deleted when
//! the test ends. A bucket rather than a key prefix: the code under test
//! usually takes a bucket name, and a bucket is what S3 isolates.

use super::owner;
use crate::client::endpoint::Endpoint;
use crate::client::s3::{S3Error, S3};
use crate::error::{cause, Error, Result};
use crate::kind::contract::ObjectStoreAccess;

pub struct BucketServer {
    pub service: String,
    pub endpoint: Endpoint,
    pub access: ObjectStoreAccess,
}

impl BucketServer {
    fn client(&self) -> Result<S3> {
        S3::new(
            &self.endpoint,
            &self.access.region,
            &self.access.access_key,
            &self.access.secret_key,
        )
        .map_err(|message| Error::Service {
            service: self.service.clone(),
            message,
            hint: None,
            source: None,
        })
    }

    fn error(&self, what: String, e: S3Error) -> Error {
        Error::Service {
            service: self.service.clone(),
            message: what,
            hint: Some("start the stack with `berth up`".into()),
            source: cause(e),
        }
    }

    /// Create a new bucket owned by this process; returns its name.
    pub fn create(&self) -> Result<String> {
        let name = owner::next_bucket_name(owner::this_process()?);
        self.client()?
            .create_bucket(&name)
            .map_err(|e| self.error(format!("could not create bucket `{name}`"), e))?;
        Ok(name)
    }

    /// Delete a bucket and its objects.
    pub fn remove(&self, name: &str) -> Result<()> {
        self.client()?
            .delete_bucket(name)
            .map_err(|e| self.error(format!("could not delete bucket `{name}`"), e))
    }

    /// Delete the buckets whose owner process is gone. Returns their names.
    pub fn gc(&self) -> Result<Vec<String>> {
        let buckets = self
            .client()?
            .list_buckets()
            .map_err(|e| self.error("could not list the buckets".into(), e))?;
        let abandoned: Vec<String> = buckets
            .into_iter()
            .filter(|b| owner::is_abandoned(b))
            .collect();
        for b in &abandoned {
            self.remove(b)?;
        }
        Ok(abandoned)
    }
}
