//! Requests the store answers without signing, before S3's routing:
//! MinIO's health endpoints, which teams' smoke tests and orchestrators
//! call (`GET`/`HEAD /minio/health/live` and `/minio/health/ready`, both
//! 200), and browsers' CORS preflights (`OPTIONS` on a bucket or object),
//! answered from the bucket's rules ([`super::cors`]).

use hyper::http::Extensions;
use hyper::{HeaderMap, Method, StatusCode, Uri};
use s3s::route::S3Route;
use s3s::{s3_error, Body, S3Request, S3Response, S3Result};

use super::bucket_config::BucketConfig;
use super::cors;

pub struct Routes {
    pub config: BucketConfig,
}

fn is_health(uri: &Uri) -> bool {
    matches!(uri.path(), "/minio/health/live" | "/minio/health/ready")
}

/// The bucket a path-style request names.
fn bucket_of(uri: &Uri) -> Option<&str> {
    uri.path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .filter(|b| !b.is_empty())
}

#[async_trait::async_trait]
impl S3Route for Routes {
    fn is_match(&self, method: &Method, uri: &Uri, _: &HeaderMap, _: &mut Extensions) -> bool {
        ((method == Method::GET || method == Method::HEAD) && is_health(uri))
            || (method == Method::OPTIONS && bucket_of(uri).is_some())
    }

    /// Anyone may ask, as MinIO and S3 let them.
    async fn check_access(&self, _: &mut S3Request<Body>) -> S3Result<()> {
        Ok(())
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        let mut response = S3Response::new(Body::empty());
        response.status = Some(StatusCode::OK);
        if is_health(&req.uri) {
            return Ok(response);
        }
        let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(origin), Some(method)) =
            (header("origin"), header("access-control-request-method"))
        else {
            return Err(s3_error!(
                InvalidRequest,
                "Insufficient information. Origin request header needed."
            ));
        };
        let bucket = bucket_of(&req.uri).unwrap_or_default();
        let requested = cors::requested_headers(&req.headers);
        let config = self.config.cors(bucket);
        match config.as_ref().and_then(|c| cors::rule_for(c, origin, method, &requested)) {
            Some(rule) => {
                response.headers = cors::allow(rule, origin, Some(&requested));
                Ok(response)
            }
            None => Err(s3_error!(
                AccessDenied,
                "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
            )),
        }
    }
}
