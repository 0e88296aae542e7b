//! Object versions, as a store that keeps one version of each object
//! answers for them: ListObjectVersions lists every object as its only
//! version (`null`, the latest), and GetBucketVersioning says versioning
//! was never enabled. Tools that empty a bucket through its versions
//! (boto3's `object_versions`, Terraform, `aws s3api
//! list-object-versions`, the ceph s3-tests suite's own cleanup) failed
//! on NotImplemented. PutBucketVersioning is still NotImplemented: the
//! storage keeps no older versions.

use s3s::dto::*;

/// The version id of an object in a bucket without versioning.
const NULL_VERSION: &str = "null";

/// The ListObjectsV2 request that lists what ListObjectVersions asks
/// for: the same prefix, delimiter and page size, after its key marker.
pub fn as_list(input: ListObjectVersionsInput) -> ListObjectsV2Input {
    ListObjectsV2Input {
        bucket: input.bucket,
        prefix: input.prefix,
        delimiter: input.delimiter,
        max_keys: input.max_keys,
        encoding_type: input.encoding_type,
        start_after: input.key_marker,
        ..ListObjectsV2Input::default()
    }
}

/// The versions of a listing's objects: each its only one.
pub fn from_list(
    listed: ListObjectsV2Output,
    key_marker: Option<KeyMarker>,
) -> ListObjectVersionsOutput {
    let objects = listed.contents.unwrap_or_default();
    let prefixes = listed.common_prefixes.unwrap_or_default();
    let truncated = listed.is_truncated.unwrap_or(false);
    // The next page starts after the last key or prefix of this one.
    let last = objects
        .iter()
        .filter_map(|o| o.key.clone())
        .chain(prefixes.iter().filter_map(|p| p.prefix.clone()))
        .max();
    let versions: Vec<ObjectVersion> = objects
        .into_iter()
        .map(|o| ObjectVersion {
            e_tag: o.e_tag,
            is_latest: Some(true),
            key: o.key,
            last_modified: o.last_modified,
            owner: o.owner,
            size: o.size,
            storage_class: Some(ObjectVersionStorageClass::from_static(
                ObjectVersionStorageClass::STANDARD,
            )),
            version_id: Some(NULL_VERSION.to_string()),
            ..ObjectVersion::default()
        })
        .collect();
    ListObjectVersionsOutput {
        common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
        delimiter: listed.delimiter,
        encoding_type: listed.encoding_type,
        is_truncated: Some(truncated),
        key_marker,
        max_keys: listed.max_keys,
        name: listed.name,
        next_key_marker: last.filter(|_| truncated),
        next_version_id_marker: truncated.then(|| NULL_VERSION.to_string()),
        prefix: listed.prefix,
        versions: Some(versions),
        ..ListObjectVersionsOutput::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_object_is_its_only_version_and_pages_follow_the_keys() {
        let listed = ListObjectsV2Output {
            contents: Some(vec![
                Object {
                    key: Some("a".into()),
                    size: Some(3),
                    ..Object::default()
                },
                Object {
                    key: Some("b".into()),
                    ..Object::default()
                },
            ]),
            is_truncated: Some(true),
            ..ListObjectsV2Output::default()
        };
        let out = from_list(listed, Some("0".into()));
        let versions = out.versions.unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0].version_id.as_deref(), Some("null"));
        assert_eq!(versions[0].is_latest, Some(true));
        assert_eq!(versions[0].size, Some(3));
        assert_eq!(out.next_key_marker.as_deref(), Some("b"));
        assert_eq!(out.key_marker.as_deref(), Some("0"));

        let input = ListObjectVersionsInput {
            bucket: "b".into(),
            key_marker: Some("k".into()),
            prefix: Some("p/".into()),
            ..ListObjectVersionsInput::default()
        };
        let list = as_list(input);
        assert_eq!(list.start_after.as_deref(), Some("k"));
        assert_eq!(list.prefix.as_deref(), Some("p/"));
    }
}
