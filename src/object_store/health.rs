//! MinIO's health endpoints, which teams' smoke tests and orchestrators
//! call without signing: `GET`/`HEAD /minio/health/live` (the process
//! serves) and `/minio/health/ready` (it can take requests), both 200.

use hyper::http::Extensions;
use hyper::{HeaderMap, Method, StatusCode, Uri};
use s3s::route::S3Route;
use s3s::{Body, S3Request, S3Response, S3Result};

pub struct Health;

#[async_trait::async_trait]
impl S3Route for Health {
    fn is_match(&self, method: &Method, uri: &Uri, _: &HeaderMap, _: &mut Extensions) -> bool {
        (method == Method::GET || method == Method::HEAD)
            && matches!(uri.path(), "/minio/health/live" | "/minio/health/ready")
    }

    /// Anyone may ask, as MinIO lets them.
    async fn check_access(&self, _: &mut S3Request<Body>) -> S3Result<()> {
        Ok(())
    }

    async fn call(&self, _: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let mut response = S3Response::new(Body::empty());
        response.status = Some(StatusCode::OK);
        Ok(response)
    }
}
