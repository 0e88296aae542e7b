//! The files `s3s-fs` keeps beside an object, in the data directory's
//! root: its metadata (`.bucket-B.object-K.metadata.json`) and internal
//! information (`.bucket-B.object-K.internal.json`), bucket and key in
//! URL-safe base64. It leaves them behind when the object or its bucket
//! is deleted (10,158 after one run of the ceph s3-tests suite); they are
//! removed here after a delete succeeds. The names are s3s-fs's own, and
//! go with it when berth's store has a layout of its own (issue 36).

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

fn prefix(bucket: &str) -> String {
    format!(".bucket-{}.", URL_SAFE_NO_PAD.encode(bucket))
}

/// Remove what an object left beside it, once it is deleted.
pub fn remove_object(root: &Path, bucket: &str, key: &str) {
    let object = format!("{}object-{}", prefix(bucket), URL_SAFE_NO_PAD.encode(key));
    for suffix in [".metadata.json", ".internal.json"] {
        // Gone already, or never written: nothing to do.
        let _ = std::fs::remove_file(root.join(format!("{object}{suffix}")));
    }
}

/// Remove every file a deleted bucket's objects left.
pub fn remove_bucket(root: &Path, bucket: &str) {
    let prefix = prefix(bucket);
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".json") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_objects_files_go_with_it_and_a_buckets_with_it() {
        let root = tempfile::tempdir().unwrap();
        let touch = |name: &str| std::fs::write(root.path().join(name), "{}").unwrap();
        // `b` is `Yg`, `k` is `aw`, `other` is `b3RoZXI`.
        touch(".bucket-Yg.object-aw.metadata.json");
        touch(".bucket-Yg.object-aw.internal.json");
        touch(".bucket-Yg.object-aw2.internal.json");
        touch(".bucket-b3RoZXI.object-aw.internal.json");
        remove_object(root.path(), "b", "k");
        let left = |root: &Path| {
            let mut names: Vec<String> = std::fs::read_dir(root)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        assert_eq!(
            left(root.path()),
            [
                ".bucket-Yg.object-aw2.internal.json",
                ".bucket-b3RoZXI.object-aw.internal.json"
            ]
        );
        remove_bucket(root.path(), "b");
        assert_eq!(
            left(root.path()),
            [".bucket-b3RoZXI.object-aw.internal.json"]
        );
    }
}
