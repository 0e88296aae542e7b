//! The `s3` kind on the native runtime: a real S3 server (berth's own, or
//! moto where bucket policies and CORS rules are checked) and a real, independent
//! S3 client (boto3) reading the env file's values.

use super::*;

/// boto3 against the env file's `S3_*` values: `get KEY`, `put KEY TEXT`,
/// `keys`, `policy`, `cors`, `create` (the bucket), `conditional KEY` (the
/// statuses of conditional GETs and HEADs), `versions`. Prints what it read.
const BOTO3: &str = r#"
import json, os, sys
import boto3
from botocore.config import Config
s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["S3_ENDPOINT"],
    aws_access_key_id=os.environ["S3_ACCESS_KEY"],
    aws_secret_access_key=os.environ["S3_SECRET_KEY"],
    region_name=os.environ["S3_REGION"],
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
bucket = os.environ["S3_BUCKET"]
op = sys.argv[1]
if op == "get":
    print(s3.get_object(Bucket=bucket, Key=sys.argv[2])["Body"].read().decode(), end="")
elif op == "put":
    s3.put_object(Bucket=bucket, Key=sys.argv[2], Body=sys.argv[3].encode())
elif op == "keys":
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    print("\n".join(sorted(o["Key"] for o in listed)), end="")
elif op == "policy":
    print(s3.get_bucket_policy(Bucket=bucket)["Policy"])
elif op == "create":
    s3.create_bucket(Bucket=bucket)
elif op == "cors":
    print(json.dumps(s3.get_bucket_cors(Bucket=bucket)["CORSRules"]))
elif op == "versions":
    # Each object's versions, and whether versioning is on.
    listed = s3.list_object_versions(Bucket=bucket).get("Versions", [])
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
    print("\n".join([f'{v["Key"]} {v["VersionId"]} {v["IsLatest"]}' for v in listed] + [status]), end="")
elif op == "conditional":
    # The status of GETs and HEADs of KEY under each condition.
    import datetime
    from botocore.exceptions import ClientError
    key = sys.argv[2]
    head = s3.head_object(Bucket=bucket, Key=key)
    etag, modified = head["ETag"], head["LastModified"]
    hour = datetime.timedelta(hours=1)
    def status(call, **conditions):
        try:
            call(Bucket=bucket, Key=key, **conditions)
            return "200"
        except ClientError as e:
            return str(e.response["ResponseMetadata"]["HTTPStatusCode"])
    print(" ".join([
        status(s3.get_object, IfMatch=etag),
        status(s3.get_object, IfMatch='"nope"'),
        status(s3.get_object, IfNoneMatch=etag),
        status(s3.head_object, IfNoneMatch=etag),
        status(s3.get_object, IfModifiedSince=modified + hour),
        status(s3.get_object, IfModifiedSince=modified - hour),
        status(s3.get_object, IfUnmodifiedSince=modified - hour),
        status(s3.head_object, IfMatch='"nope"'),
    ]), end="")
"#;

/// Run boto3 with `env`'s values (`S3_BUCKET` may be overridden by the
/// caller's map). Returns the output, successful or not.
pub fn boto3(env: &BTreeMap<String, String>, args: &[&str]) -> Output {
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg("-c").arg(BOTO3).args(args);
    for key in [
        "S3_ENDPOINT",
        "S3_ACCESS_KEY",
        "S3_SECRET_KEY",
        "S3_REGION",
        "S3_BUCKET",
    ] {
        cmd.env(
            key,
            env.get(key)
                .unwrap_or_else(|| panic!("{key} in the env file")),
        );
    }
    cmd.output()
        .expect("python3 runs (scripts/setup installs python3-boto3)")
}

/// boto3, required to succeed; its output.
pub fn boto3_ok(env: &BTreeMap<String, String>, args: &[&str]) -> String {
    let out = boto3(env, args);
    assert!(out.status.success(), "boto3 {args:?}: {}", describe(&out));
    stdout(&out)
}

/// The env section every object store test writes.
pub const S3_ENV: &str = r#"
[env]
file = ".env"
[env.vars]
S3_ENDPOINT = "${storage.endpoint}"
S3_ACCESS_KEY = "${storage.access_key}"
S3_SECRET_KEY = "${storage.secret_key}"
S3_REGION = "${storage.region}"
S3_BUCKET = "${storage.bucket}"
"#;

fn seed(s: &Sandbox, path: &str, text: &str) {
    let file = s.path().join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

#[test]
fn objects_round_trip_persist_across_down_and_up_and_reset_wipes_them() {
    let s = Sandbox::new(&format!(
        r#"name = "s3-life"
[services.storage]
kind = "s3"
buckets = ["uploads", "avatars"]
{S3_ENV}"#
    ));
    seed(
        &s,
        "seeds/storage/uploads/welcome.txt",
        "hello from the seeds",
    );
    seed(&s, "seeds/storage/uploads/docs/guide.md", "# guide");
    let up = s.ok(&["up"]);
    assert!(
        stderr(&up).contains("storage: seeded 2 objects"),
        "{}",
        describe(&up)
    );
    let env = s.env(".env");
    assert_eq!(env["S3_BUCKET"], "uploads", "the first bucket");
    assert!(
        env["S3_ENDPOINT"].starts_with("http://127.0.0.1:"),
        "{env:?}"
    );
    assert_eq!(env["S3_REGION"], "us-east-1");
    assert_eq!(env["S3_ACCESS_KEY"].len(), 20, "a generated access key");

    // The seeds, read by an independent client with the env file's values.
    assert_eq!(
        boto3_ok(&env, &["get", "welcome.txt"]),
        "hello from the seeds"
    );
    assert_eq!(boto3_ok(&env, &["get", "docs/guide.md"]), "# guide");
    boto3_ok(&env, &["put", "note.txt", "written by the app"]);
    assert_eq!(
        boto3_ok(&in_bucket(&env, "avatars"), &["keys"]),
        "",
        "a bucket without seeds is empty"
    );

    // A wrong secret is refused: the server checks signatures.
    let mut wrong = env.clone();
    wrong.insert("S3_SECRET_KEY".into(), "not-the-secret-key".into());
    let refused = boto3(&wrong, &["keys"]);
    assert!(!refused.status.success(), "{}", describe(&refused));
    assert!(
        stderr(&refused).contains("SignatureDoesNotMatch"),
        "{}",
        describe(&refused)
    );

    // Kept across down and up (s3 persists by default); seeds not loaded
    // again over the app's data.
    s.ok(&["down"]);
    let again = s.ok(&["up"]);
    assert!(!stderr(&again).contains("seeded"), "{}", describe(&again));
    assert_eq!(s.env(".env"), env, "same port and keys");
    assert_eq!(boto3_ok(&env, &["get", "note.txt"]), "written by the app");

    // `berth seed` loads them again on purpose.
    seed(&s, "seeds/storage/uploads/welcome.txt", "hello again");
    let seeded = s.ok(&["seed", "--service", "storage"]);
    assert!(
        stderr(&seeded).contains("storage: loaded 2 objects from `seeds/storage`"),
        "{}",
        describe(&seeded)
    );
    assert_eq!(boto3_ok(&env, &["get", "welcome.txt"]), "hello again");

    // Reset wipes the objects; the next up makes the buckets and seeds anew.
    s.ok(&["reset", "--yes"]);
    s.ok(&["up"]);
    let env = s.env(".env");
    assert_eq!(
        boto3_ok(&env, &["keys"]),
        ".berth-seeded\ndocs/guide.md\nwelcome.txt"
    );
    assert_eq!(boto3_ok(&in_bucket(&env, "avatars"), &["keys"]), "");
}

/// The env file's values, with another bucket.
fn in_bucket(env: &BTreeMap<String, String>, bucket: &str) -> BTreeMap<String, String> {
    let mut env = env.clone();
    env.insert("S3_BUCKET".into(), bucket.into());
    env
}

#[test]
fn configured_keys_are_used_and_a_misspelt_seed_directory_is_named() {
    let s = Sandbox::new(&format!(
        r#"name = "s3-keys"
[services.storage]
kind = "s3"
buckets = ["uploads"]
region = "eu-west-1"
access_key = "minioadmin"
secret_key = "minioadmin123"
{S3_ENV}"#
    ));
    seed(&s, "seeds/storage/upload/a.txt", "a");
    let out = s.run(&["up"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("seed directory `seeds/storage/upload` names no bucket of the service"),
        "{err}"
    );
    assert!(err.contains("did you mean `uploads`?"), "{err}");

    std::fs::rename(
        s.path().join("seeds/storage/upload"),
        s.path().join("seeds/storage/uploads"),
    )
    .unwrap();
    s.ok(&["up"]);
    let env = s.env(".env");
    assert_eq!(env["S3_ACCESS_KEY"], "minioadmin");
    assert_eq!(env["S3_SECRET_KEY"], "minioadmin123");
    assert_eq!(env["S3_REGION"], "eu-west-1");
    assert_eq!(boto3_ok(&env, &["get", "a.txt"]), "a");
}

/// The AWS CLI against the env file's `S3_*` values: its output, or its
/// error when `fails`.
fn aws(env: &BTreeMap<String, String>, args: &[&str]) -> Output {
    Command::new("/usr/bin/aws")
        .args(["--endpoint-url", &env["S3_ENDPOINT"]])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &env["S3_ACCESS_KEY"])
        .env("AWS_SECRET_ACCESS_KEY", &env["S3_SECRET_KEY"])
        .env("AWS_DEFAULT_REGION", &env["S3_REGION"])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("the AWS CLI runs (scripts/setup --all installs it)")
}

/// Issue 36 (and 34): natively, with no MinIO installed, the object store
/// is berth's own server. It keeps S3's answers where the storage under it
/// would lose data, answers MinIO's health endpoints, keeps its data 0700
/// and its keys off its command line.
#[test]
fn issue_36_the_native_object_store_is_berths_own_and_loses_nothing() {
    let s = Sandbox::new(&format!(
        r#"name = "s3-own"
[services.storage]
kind = "s3"
buckets = ["uploads"]
{S3_ENV}"#
    ));
    s.ok(&["up"]);
    let env = s.env(".env");
    let port: u16 = env["S3_ENDPOINT"]
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    for path in ["/minio/health/live", "/minio/health/ready"] {
        let (status, _) = super::generic::http_get(port, path).expect("it answers");
        assert_eq!(status, 200, "{path}");
    }
    std::fs::write(s.path().join("f.txt"), "kept\n").unwrap();
    let f = s.path().join("f.txt").display().to_string();
    let ok = |args: &[&str]| {
        let out = aws(&env, args);
        assert!(out.status.success(), "aws {args:?}: {}", describe(&out));
        stdout(&out)
    };
    let refused = |args: &[&str], code: &str| {
        let out = aws(&env, args);
        assert!(
            !out.status.success() && stderr(&out).contains(code),
            "aws {args:?} should fail with {code}: {}",
            describe(&out)
        );
    };
    ok(&["s3", "cp", &f, "s3://uploads/a/b"]);
    ok(&["s3", "cp", &f, "s3://uploads/x"]);
    refused(
        &["s3api", "delete-bucket", "--bucket", "uploads"],
        "BucketNotEmpty",
    );
    refused(
        &[
            "s3api",
            "put-object",
            "--bucket",
            "nowhere",
            "--key",
            "k",
            "--body",
            &f,
        ],
        "NoSuchBucket",
    );
    refused(
        &[
            "s3api",
            "copy-object",
            "--bucket",
            "uploads",
            "--key",
            "x",
            "--copy-source",
            "uploads/x",
        ],
        "InvalidRequest",
    );
    let listed = ok(&["s3", "ls", "s3://uploads/", "--recursive"]);
    assert!(listed.contains("a/b") && listed.contains(" x"), "{listed}");
    let buckets = ok(&["s3", "ls"]);
    assert!(!buckets.contains("nowhere"), "{buckets}");
    assert_eq!(boto3_ok(&env, &["get", "x"]), "kept\n");
    // Conditional GETs and HEADs: If-Match, If-None-Match and the dates,
    // which the storage ignored (its answers were all 200).
    let uploads = in_bucket(&env, "uploads");
    assert_eq!(
        boto3_ok(&uploads, &["conditional", "x"]),
        "200 412 304 304 304 200 412 412"
    );
    // Each object is its only version, as tools that empty a bucket
    // through its versions expect (they got NotImplemented).
    assert_eq!(
        boto3_ok(&uploads, &["versions"]),
        "a/b null True\nx null True\nnever enabled"
    );

    // Its process: berth itself, keys in its environment only.
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let server: Vec<&str> = std::str::from_utf8(&ps.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.contains("object-store serve") && l.contains(&format!(":{port}")))
        .collect();
    assert_eq!(server.len(), 1, "{server:?}");
    assert!(!server[0].contains(&env["S3_SECRET_KEY"]), "{}", server[0]);
    assert!(!server[0].contains(&env["S3_ACCESS_KEY"]), "{}", server[0]);
    let data = s.state_dir("s3-own").join("services/storage/data");
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", data.display());

    // Emptied, the bucket goes; the data survives down and up before that.
    s.ok(&["down"]);
    s.ok(&["up"]);
    assert_eq!(boto3_ok(&env, &["get", "a/b"]), "kept\n");
    ok(&["s3", "rm", "s3://uploads", "--recursive"]);
    ok(&["s3api", "delete-bucket", "--bucket", "uploads"]);
    // Nothing of them is left behind (the storage kept each object's
    // metadata files).
    let left: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".bucket-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// An S3 server with bucket policies and CORS rules, as a `minio` on
/// `PATH`: moto's server (scripts/setup installs it), given MinIO's
/// command line: berth's requests, checked by an implementation not berth's.
fn moto_as_minio(s: &Sandbox) -> PathBuf {
    let moto = ["/usr/local/lib/berth-test/moto/bin/moto_server".to_string()]
        .into_iter()
        .chain(std::env::var("HOME").map(|h| format!("{h}/.cache/berth-test/moto/bin/moto_server")))
        .find(|p| Path::new(p).exists())
        .expect("moto's server is installed: run scripts/setup");
    let bin = s.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let shim = bin.join("minio");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\n\
             # minio server DIR --address HOST:PORT --quiet\n\
             if [ \"$1\" = --version ]; then echo 'minio version RELEASE.2025-01-01T00-00-00Z'; exit 0; fi\n\
             address=$4\n\
             exec {moto} -H \"${{address%:*}}\" -p \"${{address##*:}}\"\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn public_buckets_get_a_read_policy_and_cors_rules_reach_the_server() {
    let s = Sandbox::new(&format!(
        r#"name = "s3-policy"
[services.storage]
kind = "s3"
buckets = [
  {{ name = "media", public = true, cors = ["http://localhost:3000"] }},
  "private",
]
{S3_ENV}"#
    ));
    let bin = moto_as_minio(&s);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let up = s.cmd(&["up"]).env("PATH", &path).output().unwrap();
    assert!(up.status.success(), "{}", describe(&up));
    let env = s.env(".env");
    let policy: serde_json::Value =
        serde_json::from_str(&boto3_ok(&env, &["policy"])).expect("a JSON policy");
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Action"][0], "s3:GetObject");
    assert_eq!(statement["Resource"][0], "arn:aws:s3:::media/*");
    let cors: serde_json::Value = serde_json::from_str(&boto3_ok(&env, &["cors"])).unwrap();
    assert_eq!(cors[0]["AllowedOrigins"][0], "http://localhost:3000");
    assert!(
        cors[0]["AllowedMethods"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "PUT"),
        "{cors}"
    );

    // The bucket without either has neither.
    let private = boto3(&in_bucket(&env, "private"), &["policy"]);
    assert!(!private.status.success(), "{}", describe(&private));
    assert!(
        stderr(&private).contains("NoSuchBucketPolicy"),
        "{}",
        describe(&private)
    );
    s.cmd(&["down"]).env("PATH", &path).output().unwrap();
}

/// Issue 36: natively, a `public` bucket gets its public-read policy and
/// an anonymous GET reads its objects (plain curl, as a browser would),
/// while a private bucket's are refused; a `cors` bucket answers a
/// browser's preflight from its rules and marks its responses.
#[test]
fn the_native_object_store_serves_public_and_cors_buckets() {
    let s = Sandbox::new(&format!(
        r#"name = "s3-public"
[services.storage]
kind = "s3"
buckets = [
  {{ name = "media", public = true, cors = ["http://localhost:3000"] }},
  "private",
]
{S3_ENV}"#
    ));
    s.ok(&["up"]);
    let env = s.env(".env");
    boto3_ok(&env, &["put", "logo.txt", "public bytes"]);
    boto3_ok(
        &in_bucket(&env, "private"),
        &["put", "secret.txt", "private bytes"],
    );
    let policy: serde_json::Value =
        serde_json::from_str(&boto3_ok(&env, &["policy"])).expect("a JSON policy");
    assert_eq!(policy["Statement"][0]["Action"][0], "s3:GetObject");
    let curl = |url: String| {
        let out = Command::new("curl")
            .args(["-s", "-o", "-", "-w", "\n%{http_code}", &url])
            .output()
            .unwrap();
        stdout(&out)
    };
    let endpoint = &env["S3_ENDPOINT"];
    assert_eq!(
        curl(format!("{endpoint}/media/logo.txt")),
        "public bytes\n200"
    );
    assert!(curl(format!("{endpoint}/private/secret.txt")).ends_with("\n403"));
    assert!(
        curl(format!("{endpoint}/media")).ends_with("\n403"),
        "no anonymous listing"
    );
    let private = boto3(&in_bucket(&env, "private"), &["policy"]);
    assert!(
        stderr(&private).contains("NoSuchBucketPolicy"),
        "{}",
        describe(&private)
    );
    // CORS: the preflight a browser sends before a PUT from the app.
    let preflight = |origin: &str| {
        let out = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-D",
                "-",
                "-X",
                "OPTIONS",
                "-H",
                &format!("Origin: {origin}"),
                "-H",
                "Access-Control-Request-Method: PUT",
                "-H",
                "Access-Control-Request-Headers: content-type",
                &format!("{endpoint}/media/upload.png"),
            ])
            .output()
            .unwrap();
        stdout(&out).to_ascii_lowercase()
    };
    let allowed = preflight("http://localhost:3000");
    assert!(allowed.starts_with("http/1.1 200"), "{allowed}");
    assert!(
        allowed.contains("access-control-allow-origin: http://localhost:3000"),
        "{allowed}"
    );
    assert!(
        allowed.contains("access-control-allow-methods:") && allowed.contains("put"),
        "{allowed}"
    );
    let refused = preflight("http://evil.test");
    assert!(refused.starts_with("http/1.1 403"), "{refused}");
    assert!(
        !refused.contains("access-control-allow-origin"),
        "{refused}"
    );
    // The response to the request itself names the origin too.
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-D",
            "-",
            "-H",
            "Origin: http://localhost:3000",
        ])
        .arg(format!("{endpoint}/media/logo.txt"))
        .output()
        .unwrap();
    let got = stdout(&out).to_ascii_lowercase();
    assert!(
        got.starts_with("http/1.1 200")
            && got.contains("access-control-allow-origin: http://localhost:3000"),
        "{got}"
    );
    let cors: serde_json::Value = serde_json::from_str(&boto3_ok(&env, &["cors"])).unwrap();
    assert_eq!(cors[0]["AllowedOrigins"][0], "http://localhost:3000");
}
