//! The generated S3 bindings (crate `generated`) against hand-written expectations: how
//! inputs become requests (labels, literal query parts, headers, XML payloads, required
//! checksums) and how responses become outputs or errors. Nothing here talks to a server.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use base64::Engine;
use generated::operations::{
    CompleteMultipartUploadInput, CompleteMultipartUploadOutput, CreateMultipartUploadInput,
    HeadObjectOutput, ListObjectVersionsInput, ListObjectVersionsOutput, ListPartsOutput,
    Operation, PutBucketVersioningInput, PutObjectInput, UploadPartCopyInput, UploadPartCopyOutput,
};
use generated::shapes::{CompletedMultipartUpload, CompletedPart, VersioningConfiguration};
use md5::{Digest, Md5};
use serde_json::json;
use wire::{BuildError, HttpRequest, HttpResponse, ResponseError, S3Error, XmlNode};

const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

fn query_value<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a Option<String>> {
    request
        .query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn headers_named<'a>(request: &'a HttpRequest, name: &str) -> Vec<&'a str> {
    request
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn service_error(result: Result<impl std::fmt::Debug, ResponseError>) -> S3Error {
    match result {
        Err(ResponseError::Service(e)) => e,
        other => panic!("expected a service error, got {other:?}"),
    }
}

fn upload_part_copy() -> UploadPartCopyInput {
    UploadPartCopyInput {
        bucket: some("b"),
        key: some("k"),
        copy_source: some("src/obj"),
        part_number: Some(1),
        upload_id: some("up-1"),
        ..Default::default()
    }
}

// 1. Greedy label `{Key+}`.

#[test]
fn greedy_key_label_encodes_each_segment_and_keeps_slashes() {
    let request = UploadPartCopyInput {
        key: some("dir/a b+c%d?e#f/ü.txt"),
        upload_id: some("u/p+1="),
        ..upload_part_copy()
    }
    .build()
    .unwrap();
    assert_eq!(request.method, "PUT");
    assert_eq!(request.path, "/b/dir/a%20b%2Bc%25d%3Fe%23f/%C3%BC.txt");
    assert_eq!(
        query_value(&request, "x-id"),
        Some(&some("UploadPartCopy")),
        "{:?}",
        request.query
    );
    assert_eq!(query_value(&request, "partNumber"), Some(&some("1")));
    assert_eq!(query_value(&request, "uploadId"), Some(&some("u/p+1=")));
    assert_eq!(
        request.path_and_query(),
        "/b/dir/a%20b%2Bc%25d%3Fe%23f/%C3%BC.txt?x-id=UploadPartCopy&partNumber=1&uploadId=u%2Fp%2B1%3D"
    );
}

#[test]
fn bucket_label_is_a_single_encoded_segment() {
    // Only `{Key+}` is greedy: a `/` in the bucket label is encoded, not kept.
    let request = UploadPartCopyInput {
        bucket: some("a/b"),
        ..upload_part_copy()
    }
    .build()
    .unwrap();
    assert_eq!(request.path, "/a%2Fb/k");
}

// 2. Literal query parts in the URI pattern.

#[test]
fn create_multipart_upload_has_bare_uploads_query() {
    let request = CreateMultipartUploadInput {
        bucket: some("b"),
        key: some("k"),
        ..Default::default()
    }
    .build()
    .unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/b/k");
    assert!(
        request.query.contains(&("uploads".to_string(), None)),
        "{:?}",
        request.query
    );
    assert!(
        request.path_and_query().ends_with("?uploads"),
        "{}",
        request.path_and_query()
    );
    assert_eq!(request.path_and_query(), "/b/k?uploads");
}

#[test]
fn list_object_versions_has_bare_versions_query() {
    let request = ListObjectVersionsInput {
        bucket: some("b"),
        prefix: some("p/"),
        ..Default::default()
    }
    .build()
    .unwrap();
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/b");
    assert_eq!(query_value(&request, "versions"), Some(&None));
    assert_eq!(query_value(&request, "prefix"), Some(&some("p/")));
    assert_eq!(request.path_and_query(), "/b?versions&prefix=p%2F");
}

#[test]
fn put_bucket_versioning_has_versioning_query_xml_body_and_content_md5() {
    let request = PutBucketVersioningInput {
        bucket: some("b"),
        versioning_configuration: Some(VersioningConfiguration {
            status: some("Enabled"),
            ..Default::default()
        }),
        ..Default::default()
    }
    .build()
    .unwrap();
    assert_eq!(request.method, "PUT");
    assert_eq!(request.path_and_query(), "/b?versioning");
    assert_eq!(query_value(&request, "versioning"), Some(&None));
    let body = String::from_utf8(request.body.clone()).unwrap();
    assert_eq!(
        body,
        format!(
            r#"<VersioningConfiguration xmlns="{NS}"><Status>Enabled</Status></VersioningConfiguration>"#
        )
    );
    let expected_md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&request.body));
    assert_eq!(
        headers_named(&request, "content-md5"),
        vec![expected_md5.as_str()]
    );
    assert_eq!(request.header("content-type"), Some("application/xml"));
}

#[test]
fn put_bucket_versioning_sends_one_content_md5_when_the_input_names_one() {
    // The input may carry its own ContentMD5 (for example a deliberately wrong one); the
    // request must still carry exactly one Content-MD5 header, not two.
    let request = PutBucketVersioningInput {
        bucket: some("b"),
        content_md5: some("AAAAAAAAAAAAAAAAAAAAAA=="),
        versioning_configuration: Some(VersioningConfiguration {
            status: some("Suspended"),
            ..Default::default()
        }),
        ..Default::default()
    }
    .build()
    .unwrap();
    let values = headers_named(&request, "content-md5");
    assert_eq!(values.len(), 1, "Content-MD5 headers: {values:?}");
}

// 3. Headers.

#[test]
fn upload_part_copy_headers() {
    let since = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let request = UploadPartCopyInput {
        copy_source_if_modified_since: Some(since),
        copy_source_range: some("bytes=0-99"),
        copy_source_if_match: some("\"abc\""),
        ..upload_part_copy()
    }
    .build()
    .unwrap();
    assert_eq!(
        request.header("x-amz-copy-source-if-modified-since"),
        Some(httpdate::fmt_http_date(since).as_str())
    );
    assert_eq!(
        request.header("x-amz-copy-source-if-modified-since"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
    assert_eq!(
        request.header("x-amz-copy-source-range"),
        Some("bytes=0-99")
    );
    assert_eq!(
        request.header("x-amz-copy-source-if-match"),
        Some("\"abc\"")
    );
    assert_eq!(request.header("x-amz-copy-source"), Some("src/obj"));
    assert!(request.body.is_empty());
    // Unset members send no header.
    assert_eq!(
        request.header("x-amz-copy-source-if-unmodified-since"),
        None
    );
    assert_eq!(request.header("x-amz-copy-source-if-none-match"), None);
}

#[test]
fn put_object_metadata_becomes_lowercase_prefix_headers() {
    let request = PutObjectInput {
        bucket: some("b"),
        key: some("k"),
        body: Some(b"hello".to_vec()),
        metadata: Some(BTreeMap::from([("Color".to_string(), "blue".to_string())])),
        ..Default::default()
    }
    .build()
    .unwrap();
    assert_eq!(request.method, "PUT");
    assert_eq!(request.header("x-amz-meta-color"), Some("blue"));
    assert!(
        request
            .headers
            .contains(&("x-amz-meta-color".into(), "blue".into())),
        "{:?}",
        request.headers
    );
    assert_eq!(request.body, b"hello");
    assert_eq!(request.path_and_query(), "/b/k?x-id=PutObject");
}

// 4. Missing labels.

#[test]
fn missing_or_empty_labels_are_build_errors() {
    let cases = [
        (
            UploadPartCopyInput {
                bucket: None,
                ..upload_part_copy()
            },
            "Bucket",
        ),
        (
            UploadPartCopyInput {
                bucket: some(""),
                ..upload_part_copy()
            },
            "Bucket",
        ),
        (
            UploadPartCopyInput {
                key: None,
                ..upload_part_copy()
            },
            "Key",
        ),
        (
            UploadPartCopyInput {
                key: some(""),
                ..upload_part_copy()
            },
            "Key",
        ),
    ];
    for (input, label) in cases {
        match input.build() {
            Err(BuildError(message)) => {
                assert!(message.contains(label), "{message:?} should name {label}")
            }
            Ok(request) => panic!("built {request:?} without {label}"),
        }
    }
    let err = ListObjectVersionsInput::default().build().unwrap_err();
    assert!(err.0.contains("Bucket"), "{err}");
}

// 5. XML payload with a flattened list.

#[test]
fn complete_multipart_upload_body_has_flattened_parts_in_member_order() {
    let request = CompleteMultipartUploadInput {
        bucket: some("b"),
        key: some("k"),
        upload_id: some("up-1"),
        multipart_upload: Some(CompletedMultipartUpload {
            parts: Some(vec![
                CompletedPart {
                    e_tag: some("e1"),
                    part_number: Some(1),
                    ..Default::default()
                },
                CompletedPart {
                    e_tag: some("e2"),
                    checksum_crc32: some("AAAAAA=="),
                    part_number: Some(2),
                    ..Default::default()
                },
            ]),
        }),
        ..Default::default()
    }
    .build()
    .unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path_and_query(), "/b/k?uploadId=up-1");
    assert_eq!(request.header("content-type"), Some("application/xml"));
    let body = String::from_utf8(request.body.clone()).unwrap();
    assert_eq!(
        body,
        format!(
            r#"<CompleteMultipartUpload xmlns="{NS}"><Part><ETag>e1</ETag><PartNumber>1</PartNumber></Part><Part><ETag>e2</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>"#
        )
    );
}

#[test]
fn complete_multipart_upload_body_escapes_text() {
    let etag = "\"a<b>&c\"";
    let request = CompleteMultipartUploadInput {
        bucket: some("b"),
        key: some("k"),
        upload_id: some("up-1"),
        multipart_upload: Some(CompletedMultipartUpload {
            parts: Some(vec![CompletedPart {
                e_tag: some(etag),
                part_number: Some(7),
                ..Default::default()
            }]),
        }),
        ..Default::default()
    }
    .build()
    .unwrap();
    let root = XmlNode::parse(&request.body).expect("the body is well-formed XML");
    assert_eq!(root.name, "CompleteMultipartUpload");
    let parts: Vec<&XmlNode> = root.children_named("Part").collect();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].child("ETag").unwrap().text, etag);
    assert_eq!(parts[0].child("PartNumber").unwrap().text, "7");
}

// 6. Response payloads.

#[test]
fn upload_part_copy_output_reads_payload_and_header() {
    let ok = response(
        200,
        &[("x-amz-copy-source-version-id", "v-123")],
        r#"<?xml version="1.0" encoding="UTF-8"?>
<CopyPartResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"abc"</ETag></CopyPartResult>"#,
    );
    let out = UploadPartCopyOutput::parse(&ok).unwrap();
    assert_eq!(out.copy_source_version_id.as_deref(), Some("v-123"));
    let result = out.copy_part_result.expect("CopyPartResult");
    assert_eq!(result.e_tag.as_deref(), Some("\"abc\""));
    assert_eq!(
        result.last_modified.as_deref(),
        Some("2026-01-01T00:00:00.000Z")
    );
}

#[test]
fn xml_text_entities_and_cdata_are_decoded() {
    for etag_xml in [
        "&quot;abc&quot;",
        "&#34;abc&#34;",
        "&#x22;abc&#x22;",
        "<![CDATA[\"abc\"]]>",
    ] {
        let body = format!(
            "<CopyPartResult><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>{etag_xml}</ETag></CopyPartResult>"
        );
        let out = UploadPartCopyOutput::parse(&response(200, &[], &body)).unwrap();
        assert_eq!(
            out.copy_part_result.unwrap().e_tag.as_deref(),
            Some("\"abc\""),
            "from {etag_xml}"
        );
    }
    let body = "<CopyPartResult><ETag>a &amp; b &lt;c&gt;</ETag></CopyPartResult>";
    let out = UploadPartCopyOutput::parse(&response(200, &[], body)).unwrap();
    assert_eq!(
        out.copy_part_result.unwrap().e_tag.as_deref(),
        Some("a & b <c>")
    );
}

// 7. Flattened lists in responses.

#[test]
fn list_parts_output_reads_flattened_parts() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>b</Bucket>
  <Key>k</Key>
  <UploadId>up-1</UploadId>
  <MaxParts>1000</MaxParts>
  <IsTruncated>false</IsTruncated>
  <Part>
    <PartNumber>1</PartNumber>
    <LastModified>2026-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;e1&quot;</ETag>
    <Size>5242880</Size>
  </Part>
  <Part>
    <PartNumber>2</PartNumber>
    <LastModified>2026-01-01T00:00:01.000Z</LastModified>
    <ETag>"e2"</ETag>
    <Size>17</Size>
  </Part>
  <StorageClass>STANDARD</StorageClass>
</ListPartsResult>"#;
    let out = ListPartsOutput::parse(&response(200, &[], body)).unwrap();
    assert_eq!(out.bucket.as_deref(), Some("b"));
    assert_eq!(out.upload_id.as_deref(), Some("up-1"));
    assert_eq!(out.max_parts, Some(1000));
    assert_eq!(out.is_truncated, Some(false));
    assert_eq!(out.storage_class.as_deref(), Some("STANDARD"));
    let parts = out.parts.expect("parts");
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].part_number, Some(1));
    assert_eq!(parts[0].size, Some(5_242_880));
    assert_eq!(parts[0].e_tag.as_deref(), Some("\"e1\""));
    assert_eq!(parts[1].part_number, Some(2));
    assert_eq!(parts[1].size, Some(17));
    assert_eq!(parts[1].e_tag.as_deref(), Some("\"e2\""));
}

#[test]
fn list_parts_output_without_parts_has_none() {
    let body =
        "<ListPartsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated></ListPartsResult>";
    let out = ListPartsOutput::parse(&response(200, &[], body)).unwrap();
    assert_eq!(out.parts, None);
    assert_eq!(out.bucket.as_deref(), Some("b"));
}

#[test]
fn list_object_versions_splits_interleaved_versions_and_delete_markers() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name>
  <IsTruncated>false</IsTruncated>
  <Version><Key>k</Key><VersionId>v3</VersionId><IsLatest>false</IsLatest><ETag>"e3"</ETag><Size>3</Size></Version>
  <DeleteMarker><Key>k</Key><VersionId>dm</VersionId><IsLatest>true</IsLatest></DeleteMarker>
  <Version><Key>k</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest><ETag>"e1"</ETag><Size>1</Size></Version>
</ListVersionsResult>"#;
    let out = ListObjectVersionsOutput::parse(&response(200, &[], body)).unwrap();
    assert_eq!(out.name.as_deref(), Some("b"));
    let versions = out.versions.expect("versions");
    let ids: Vec<_> = versions
        .iter()
        .map(|v| v.version_id.as_deref().unwrap())
        .collect();
    assert_eq!(ids, ["v3", "v1"]);
    assert_eq!(versions[0].size, Some(3));
    assert_eq!(versions[0].e_tag.as_deref(), Some("\"e3\""));
    assert_eq!(versions[1].is_latest, Some(false));
    let markers = out.delete_markers.expect("delete markers");
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0].version_id.as_deref(), Some("dm"));
    assert_eq!(markers[0].is_latest, Some(true));
}

// 8. Errors.

#[test]
fn error_body_gives_code_message_and_other_fields() {
    let body = "<Error><Code>InvalidArgument</Code><Message>m</Message><ArgumentName>x-amz-copy-source-range</ArgumentName><ArgumentValue>bytes=1-0</ArgumentValue></Error>";
    let err = service_error(UploadPartCopyOutput::parse(&response(400, &[], body)));
    assert_eq!(err.status, 400);
    assert_eq!(err.code, "InvalidArgument");
    assert_eq!(err.message, "m");
    assert_eq!(
        err.fields.get("ArgumentName").map(String::as_str),
        Some("x-amz-copy-source-range")
    );
    assert_eq!(
        err.fields.get("ArgumentValue").map(String::as_str),
        Some("bytes=1-0")
    );
    assert!(!err.fields.contains_key("Code"));
    assert!(!err.fields.contains_key("Message"));
}

#[test]
fn precondition_failed_keeps_condition() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>x-amz-copy-source-If-Match</Condition><RequestId>r</RequestId></Error>"#;
    let err = service_error(UploadPartCopyOutput::parse(&response(412, &[], body)));
    assert_eq!(err.status, 412);
    assert_eq!(err.code, "PreconditionFailed");
    assert_eq!(
        err.fields.get("Condition").map(String::as_str),
        Some("x-amz-copy-source-If-Match")
    );
}

#[test]
fn head_404_without_body_is_not_found() {
    let err = service_error(HeadObjectOutput::parse(&response(404, &[], "")));
    assert_eq!(err.status, 404);
    assert_eq!(err.code, "NotFound");
    assert_eq!(err.message, "");
}

#[test]
fn error_document_with_status_200_is_an_error() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>

<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>"#;
    let copy = service_error(UploadPartCopyOutput::parse(&response(200, &[], body)));
    assert_eq!(copy.status, 200);
    assert_eq!(copy.code, "InternalError");
    let complete = service_error(CompleteMultipartUploadOutput::parse(&response(
        200,
        &[],
        body,
    )));
    assert_eq!(complete.status, 200);
    assert_eq!(complete.code, "InternalError");
    assert_eq!(
        complete.message,
        "We encountered an internal error. Please try again."
    );
}

#[test]
fn malformed_xml_with_status_200_is_malformed() {
    let body =
        "<ListPartsResult><Bucket>b</Bucket><Part><PartNumber>1</PartNumber></ListPartsResult>";
    match ListPartsOutput::parse(&response(200, &[], body)) {
        Err(ResponseError::Malformed(_)) => {}
        other => panic!("expected Malformed, got {other:?}"),
    }
    // A well-formed body whose number is not a number is malformed too.
    let body = "<ListPartsResult><Part><PartNumber>one</PartNumber></Part></ListPartsResult>";
    match ListPartsOutput::parse(&response(200, &[], body)) {
        Err(ResponseError::Malformed(m)) => assert!(m.contains("PartNumber"), "{m}"),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

// 9. The JSON (scenario) entry points.

#[test]
fn build_request_from_json_matches_typed_input() {
    let request = Operation::UploadPartCopy
        .build_request(&json!({
            "Bucket": "b",
            "Key": "dir/a b",
            "CopySource": "src/obj",
            "CopySourceRange": "bytes=0-9",
            "CopySourceIfModifiedSince": "Tue, 14 Nov 2023 22:13:20 GMT",
            "PartNumber": 3,
            "UploadId": "up-1",
        }))
        .unwrap();
    assert_eq!(
        request.path_and_query(),
        "/b/dir/a%20b?x-id=UploadPartCopy&partNumber=3&uploadId=up-1"
    );
    assert_eq!(request.header("x-amz-copy-source-range"), Some("bytes=0-9"));
    assert_eq!(
        request.header("x-amz-copy-source-if-modified-since"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
}

#[test]
fn build_request_refuses_unknown_member() {
    let err = Operation::UploadPartCopy
        .build_request(&json!({"Bucket": "b", "Key": "k", "Nope": 1}))
        .unwrap_err();
    assert!(err.0.contains("Nope"), "{err}");
    let err = "NoSuchOperation".parse::<Operation>().unwrap_err();
    assert!(err.contains("NoSuchOperation"), "{err}");
}

#[test]
fn parse_response_get_object_shows_body_by_size_and_md5() {
    let body = b"hello world".to_vec();
    let value = Operation::GetObject
        .parse_response(&HttpResponse {
            status: 200,
            headers: vec![
                ("ETag".into(), "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"".into()),
                ("x-amz-meta-color".into(), "blue".into()),
            ],
            body: body.clone(),
        })
        .unwrap();
    assert_eq!(
        value["Body"],
        json!({"size": 11, "md5": "5eb63bbbe01eeed093cb22bb8f5acdc3"})
    );
    assert_eq!(value["Body"]["md5"], hex::encode(Md5::digest(&body)));
    assert_eq!(value["ETag"], "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
    assert_eq!(value["Metadata"], json!({"color": "blue"}));
}

// 10. The model facts the runner reads instead of restating them.

#[test]
fn generated_model_facts_name_the_members_the_model_has() {
    use generated::operations::CHECKSUM_ALGORITHMS;
    use wire::{Checksums, CopySourceSseCustomer, SseCustomer};
    let ending: Vec<_> = Operation::ALL
        .iter()
        .filter(|op| op.ends_upload())
        .collect();
    assert_eq!(
        ending,
        [
            &Operation::AbortMultipartUpload,
            &Operation::CompleteMultipartUpload
        ]
    );
    assert!(CHECKSUM_ALGORITHMS.starts_with(&["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]));
    let mut part = CompletedPart::default();
    for algorithm in CHECKSUM_ALGORITHMS {
        assert!(part.set_checksum(algorithm, format!("v-{algorithm}")));
        assert_eq!(
            part.checksum(algorithm),
            Some(format!("v-{algorithm}").as_str())
        );
    }
    assert_eq!(part.checksum_crc32_c.as_deref(), Some("v-CRC32C"));
    assert!(!part.set_checksum("CRC7", "x".into()));
    let mut input = UploadPartCopyInput::default();
    input.set_sse_customer("AES256", "k", "m");
    input.set_copy_source_sse_customer("AES256", "ck", "cm");
    assert_eq!(input.sse_customer_key.as_deref(), Some("k"));
    assert_eq!(
        input.copy_source_sse_customer_key_md5.as_deref(),
        Some("cm")
    );
}
