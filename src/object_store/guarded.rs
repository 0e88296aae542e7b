//! The rules berth's object store keeps where the storage under it
//! (`s3s-fs`) would lose or misplace data: S3's answers, checked before the
//! request reaches the storage. Every other operation the storage has is
//! passed on as it is; the rest answer NotImplemented.
//!
//! - DeleteBucket on a bucket that holds an object is BucketNotEmpty
//!   (the storage deleted the bucket and its objects).
//! - PutObject, CreateMultipartUpload and CopyObject into a bucket that
//!   does not exist are NoSuchBucket (the storage made the bucket).
//! - CopyObject of an object onto itself changes nothing and is refused
//!   unless it replaces the metadata, as S3 refuses it.
//! - DeleteObjects takes at most 1,000 keys, as S3 does.
//! - GET and HEAD answer `If-Match`, `If-None-Match` and the dates
//!   ([`super::conditional`]): 412 or 304, where the storage ignored them.
//! - ListObjectVersions and GetBucketVersioning answer for the one
//!   version of each object ([`super::versions`]).
//! - A deleted object's or bucket's metadata files go with it
//!   ([`super::sidecars`]); the storage left them behind.
//!
//! Bucket policies and CORS rules, which the storage lacks, are kept here
//! ([`super::bucket_config`]); policies are read by [`super::public_read`],
//! and the responses to objects' GET, HEAD and PUT carry what the CORS
//! rules allow the request's origin ([`super::cors`]).

use std::path::{Path, PathBuf};

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};
use s3s_fs::FileSystem;

use super::bucket_config::BucketConfig;
use super::conditional::Conditions;
use super::cors;
use super::sidecars;
use super::versions;

/// S3's limit on the keys of one DeleteObjects request.
const DELETE_OBJECTS_MAX: usize = 1000;

pub struct Guarded {
    store: FileSystem,
    /// The storage's root: a bucket is a directory of it.
    root: PathBuf,
    config: BucketConfig,
}

impl Guarded {
    pub fn new(store: FileSystem, root: PathBuf, config: BucketConfig) -> Guarded {
        Guarded {
            store,
            root,
            config,
        }
    }

    fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    /// `response`, with what the bucket's CORS rules allow the origin of
    /// a request (`origin`, sent with `method`) to see of it.
    fn with_cors<T>(
        &self,
        bucket: &str,
        origin: Option<String>,
        method: &str,
        mut response: S3Response<T>,
    ) -> S3Response<T> {
        let Some(origin) = origin else {
            return response;
        };
        if let Some(config) = self.config.cors(bucket) {
            if let Some(rule) = cors::rule_for(&config, &origin, method, &[]) {
                response.headers.extend(cors::allow(rule, &origin, None));
            }
        }
        response
    }

    fn require_bucket(&self, bucket: &str) -> S3Result<()> {
        if self.bucket_dir(bucket).is_dir() {
            Ok(())
        } else {
            Err(s3_error!(
                NoSuchBucket,
                "The specified bucket does not exist"
            ))
        }
    }
}

/// The `Origin` a browser sent, if any.
fn origin_of<T>(req: &S3Request<T>) -> Option<String> {
    req.headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Whether a bucket's directory holds an object: a file anywhere under it
/// (the directories of key prefixes stay behind when their objects go).
fn holds_objects(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| match e.file_type() {
        Ok(t) if t.is_dir() => holds_objects(&e.path()),
        Ok(_) => true,
        Err(_) => true,
    })
}

#[async_trait::async_trait]
impl S3 for Guarded {
    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.require_bucket(&req.input.bucket)?;
        if holds_objects(&self.bucket_dir(&req.input.bucket)) {
            return Err(s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty"
            ));
        }
        let bucket = req.input.bucket.clone();
        let deleted = self.store.delete_bucket(req).await?;
        self.config.remove(&bucket);
        sidecars::remove_bucket(&self.root, &bucket);
        Ok(deleted)
    }

    async fn put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        self.require_bucket(&req.input.bucket)?;
        let policy = &req.input.policy;
        let parsed: Option<serde_json::Value> = serde_json::from_str(policy).ok();
        if parsed.as_ref().is_none_or(|p| p.get("Statement").is_none()) {
            return Err(s3_error!(
                MalformedPolicy,
                "Policies must be valid JSON with a Statement"
            ));
        }
        self.config
            .set_policy(&req.input.bucket, policy)
            .map_err(|e| s3_error!(InternalError, "{e}"))?;
        Ok(S3Response::new(PutBucketPolicyOutput {}))
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        self.require_bucket(&req.input.bucket)?;
        match self.config.policy(&req.input.bucket) {
            Some(policy) => Ok(S3Response::new(GetBucketPolicyOutput {
                policy: Some(policy),
            })),
            None => Err(s3_error!(
                NoSuchBucketPolicy,
                "The bucket policy does not exist"
            )),
        }
    }

    async fn delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        self.require_bucket(&req.input.bucket)?;
        self.config.delete_policy(&req.input.bucket);
        Ok(S3Response::new(DeleteBucketPolicyOutput {}))
    }

    async fn put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        self.require_bucket(&req.input.bucket)?;
        self.config
            .set_cors(&req.input.bucket, &req.input.cors_configuration)
            .map_err(|e| s3_error!(InternalError, "{e}"))?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    async fn get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        self.require_bucket(&req.input.bucket)?;
        match self.config.cors(&req.input.bucket) {
            Some(config) => Ok(S3Response::new(GetBucketCorsOutput {
                cors_rules: Some(config.cors_rules),
            })),
            None => Err(s3_error!(
                NoSuchCORSConfiguration,
                "The CORS configuration does not exist"
            )),
        }
    }

    async fn delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        self.require_bucket(&req.input.bucket)?;
        self.config.delete_cors(&req.input.bucket);
        Ok(S3Response::new(DeleteBucketCorsOutput::default()))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.require_bucket(&req.input.bucket)?;
        let (bucket, origin) = (req.input.bucket.clone(), origin_of(&req));
        let response = self.store.put_object(req).await?;
        Ok(self.with_cors(&bucket, origin, "PUT", response))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.require_bucket(&req.input.bucket)?;
        self.store.create_multipart_upload(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.require_bucket(&req.input.bucket)?;
        if let CopySource::Bucket { bucket, key, .. } = &req.input.copy_source {
            let replaces = req
                .input
                .metadata_directive
                .as_ref()
                .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
            if **bucket == *req.input.bucket && **key == *req.input.key && !replaces {
                return Err(s3_error!(
                    InvalidRequest,
                    "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
                ));
            }
        }
        self.store.copy_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        if req.input.delete.objects.len() > DELETE_OBJECTS_MAX {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        let bucket = req.input.bucket.clone();
        let deleted = self.store.delete_objects(req).await?;
        for d in deleted.output.deleted.iter().flatten() {
            if let Some(key) = &d.key {
                sidecars::remove_object(&self.root, &bucket, key);
            }
        }
        Ok(deleted)
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.store.create_bucket(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let deleted = self.store.delete_object(req).await?;
        sidecars::remove_object(&self.root, &bucket, &key);
        Ok(deleted)
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.store.get_bucket_location(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let (bucket, origin) = (req.input.bucket.clone(), origin_of(&req));
        let i = &req.input;
        let conditions = Conditions {
            if_match: i.if_match.clone(),
            if_none_match: i.if_none_match.clone(),
            if_modified_since: i.if_modified_since.clone(),
            if_unmodified_since: i.if_unmodified_since.clone(),
        };
        let response = self.store.get_object(req).await?;
        let output = &response.output;
        conditions.check(output.e_tag.as_ref(), output.last_modified.as_ref())?;
        Ok(self.with_cors(&bucket, origin, "GET", response))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.store.head_bucket(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let (bucket, origin) = (req.input.bucket.clone(), origin_of(&req));
        let i = &req.input;
        let conditions = Conditions {
            if_match: i.if_match.clone(),
            if_none_match: i.if_none_match.clone(),
            if_modified_since: i.if_modified_since.clone(),
            if_unmodified_since: i.if_unmodified_since.clone(),
        };
        let response = self.store.head_object(req).await?;
        let output = &response.output;
        conditions.check(output.e_tag.as_ref(), output.last_modified.as_ref())?;
        Ok(self.with_cors(&bucket, origin, "HEAD", response))
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.store.list_buckets(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.store.list_objects(req).await
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        self.require_bucket(&req.input.bucket)?;
        let key_marker = req.input.key_marker.clone();
        let listed = self
            .store
            .list_objects_v2(req.map_input(versions::as_list))
            .await?;
        Ok(S3Response::new(versions::from_list(
            listed.output,
            key_marker,
        )))
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        // Never enabled: the answer has no status.
        self.require_bucket(&req.input.bucket)?;
        Ok(S3Response::new(GetBucketVersioningOutput::default()))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.store.list_objects_v2(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.store.upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.store.upload_part_copy(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.store.list_parts(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.store.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.store.abort_multipart_upload(req).await
    }
}
