//! The Alibaba Cloud OSS dialect: the same requests as the S3 ones with `x-oss-` headers,
//! signed with the OSS V1 header signature
//! (<https://www.alibabacloud.com/help/doc-detail/31951.htm>, "Include a V1 signature in
//! the Authorization header"):
//!
//! ```text
//! Authorization = "OSS " + AccessKeyId + ":" + base64(hmac-sha1(AccessKeySecret,
//!     VERB + "\n" + Content-MD5 + "\n" + Content-Type + "\n" + Date + "\n"
//!     + CanonicalizedOSSHeaders + CanonicalizedResource))
//! ```

use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use sha1::Sha1;
use std::collections::BTreeMap;
use wire::HttpRequest;

/// Query parameters that OSS signs as sub-resources, sorted. The union of the list in the
/// OSS documentation (AlibabaCloudDocs/oss, "在Header中包含签名.md") and the lists in the
/// official SDKs: aliyun-oss-go-sdk `oss/conn.go` `signKeyList`, aliyun-oss-python-sdk
/// `oss2/auth.py` `_subresource_key_set`, alibabacloud-oss-go-sdk-v2 `oss/signer/v1.go`
/// `requiredSignedParametersMap`. Parameters named `x-oss-*` are signed too (the v2 SDK
/// does that), see `is_sub_resource`.
const SUB_RESOURCES: &[&str] = &[
    "acl",
    "append",
    "asyncFetch",
    "bucketInfo",
    "callback",
    "callback-var",
    "cloudboxes",
    "cname",
    "comp",
    "continuation-token",
    "cors",
    "delete",
    "encryption",
    "endTime",
    "group",
    "img",
    "inventory",
    "inventoryId",
    "lifecycle",
    "link",
    "live",
    "location",
    "logging",
    "metaQuery",
    "objectInfo",
    "objectMeta",
    "partNumber",
    "policy",
    "position",
    "qos",
    "qosInfo",
    "referer",
    "regionList",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "resourceGroup",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "sequential",
    "startTime",
    "stat",
    "status",
    "style",
    "styleName",
    "symlink",
    "tagging",
    "transferAcceleration",
    "udf",
    "udfApplication",
    "udfApplicationLog",
    "udfId",
    "udfImage",
    "udfImageDesc",
    "udfName",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "vod",
    "website",
    "withHashContext",
    "worm",
    "wormExtend",
    "wormId",
];

/// Rewrites an S3 request into the OSS dialect: `x-amz-*` headers become `x-oss-*`, the
/// SigV4-only headers go, and so does the SDK routing hint `?x-id=`.
pub fn to_oss(request: &HttpRequest) -> HttpRequest {
    let headers = request
        .headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            // SigV4 bookkeeping: OSS V1 signs neither the payload hash nor an amz date.
            if name == "x-amz-content-sha256" || name == "x-amz-date" {
                return None;
            }
            let name = match name.strip_prefix("x-amz-") {
                Some(rest) => format!("x-oss-{rest}"),
                None => name,
            };
            // OSS refuses a copy source without its leading slash (AWS takes both forms).
            if name == "x-oss-copy-source" && !value.starts_with('/') {
                return Some((name, format!("/{value}")));
            }
            Some((name, value.clone()))
        })
        .collect();
    let query = request
        .query
        .iter()
        .filter(|(name, _)| name != "x-id")
        .cloned()
        .collect();
    HttpRequest {
        method: request.method,
        path: request.path.clone(),
        query,
        headers,
        body: request.body.clone(),
    }
}

/// The OSS V1 string to sign. `date` must be the value sent in the `Date` header.
pub fn string_to_sign(request: &HttpRequest, date: &str) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}{}",
        request.method,
        request.header("content-md5").unwrap_or(""),
        request.header("content-type").unwrap_or(""),
        date,
        canonicalized_oss_headers(request),
        canonicalized_resource(request),
    )
}

/// The value of the `Authorization` header.
pub fn authorization(
    request: &HttpRequest,
    access_key_id: &str,
    access_key_secret: &str,
    date: &str,
) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(access_key_secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(string_to_sign(request, date).as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("OSS {access_key_id}:{signature}")
}

/// Every `x-oss-` header, name lowercased, sorted by name, values trimmed and joined with
/// ',' when a name repeats, each as `name:value\n`.
fn canonicalized_oss_headers(request: &HttpRequest) -> String {
    let mut headers: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (name, value) in &request.headers {
        let name = name.to_ascii_lowercase();
        if name.starts_with("x-oss-") {
            headers.entry(name).or_default().push(value.trim());
        }
    }
    headers
        .iter()
        .map(|(name, values)| format!("{name}:{}\n", values.join(",")))
        .collect()
}

/// `/bucket/key` with the key as stored (not URL-encoded: the SDKs sign the raw object
/// name and only encode it in the URL), `/bucket/` for bucket requests, `/` without a
/// bucket; then the sub-resources sorted by name, `?a=b&c`, decoded, bare when empty.
fn canonicalized_resource(request: &HttpRequest) -> String {
    let path = request.path.strip_prefix('/').unwrap_or(&request.path);
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    let mut resource = String::from("/");
    if !bucket.is_empty() {
        // Keys come from Rust strings, so they decode to UTF-8; a hand-made invalid
        // sequence is signed with replacement characters and the server will say no.
        resource.push_str(&percent_decode_str(bucket).decode_utf8_lossy());
        resource.push('/');
        resource.push_str(&percent_decode_str(key).decode_utf8_lossy());
    }
    let mut params: Vec<&(String, Option<String>)> = request
        .query
        .iter()
        .filter(|(name, _)| is_sub_resource(name))
        .collect();
    // Stable: repeated names keep their order.
    params.sort_by(|a, b| a.0.cmp(&b.0));
    let params: Vec<String> = params
        .iter()
        .map(|(name, value)| match value.as_deref() {
            Some(value) if !value.is_empty() => format!("{name}={value}"),
            _ => name.clone(),
        })
        .collect();
    if !params.is_empty() {
        resource.push('?');
        resource.push_str(&params.join("&"));
    }
    resource
}

fn is_sub_resource(name: &str) -> bool {
    SUB_RESOURCES.binary_search(&name).is_ok() || name.starts_with("x-oss-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use generated::operations::{CreateMultipartUploadInput, UploadPartCopyInput};
    use wire::encode_greedy;

    fn request(
        method: &'static str,
        path: &str,
        query: &[(&str, Option<&str>)],
        headers: &[(&str, &str)],
    ) -> HttpRequest {
        HttpRequest {
            method,
            path: path.to_string(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn sub_resource_list_is_sorted() {
        assert!(SUB_RESOURCES.windows(2).all(|w| w[0] < w[1]));
    }

    // The worked example of the OSS documentation, "在Header中包含签名" / "Include
    // signatures in the Authorization header" (https://www.alibabacloud.com/help/doc-detail/31951.htm;
    // repository AlibabaCloudDocs/oss, "intl.zh-CN/API 参考/访问控制/在Header中包含签名.md").
    // The page masks the secret and the signature ("26NBxoKd******Dv6inkoDft/yA="); the
    // unmasked values are in the test aliyun-beta/aliyun-oss-go-sdk oss/auth_test.go
    // (TestAuth), which also shows that the signature goes with the Content-MD5 of the
    // page's Python sample (ODBGOERF…), not with the eB5eJF1p… of the page's request table.
    #[test]
    fn documented_example() {
        let req = request(
            "PUT",
            "/oss-example/nelson",
            &[],
            &[
                (
                    "content-md5",
                    "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=",
                ),
                ("content-type", "text/html"),
                ("date", "Thu, 17 Nov 2005 18:49:58 GMT"),
                ("host", "oss-example.oss-cn-hangzhou.aliyuncs.com"),
                ("X-OSS-Meta-Author", "foo@bar.com"),
                ("X-OSS-Magic", "abracadabra"),
            ],
        );
        let date = "Thu, 17 Nov 2005 18:49:58 GMT";
        assert_eq!(
            string_to_sign(&req, date),
            "PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\ntext/html\n\
             Thu, 17 Nov 2005 18:49:58 GMT\nx-oss-magic:abracadabra\n\
             x-oss-meta-author:foo@bar.com\n/oss-example/nelson"
        );
        assert_eq!(
            authorization(
                &req,
                "44CF9590006BF252F707",
                "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV",
                date
            ),
            "OSS 44CF9590006BF252F707:26NBxoKdsyly4EDv6inkoDft/yA="
        );
    }

    // aliyun/alibabacloud-oss-go-sdk-v2 oss/signer/signer_test.go, TestV1AuthHeader cases
    // 1-4 (the same vectors are in aliyun/alibabacloud-oss-python-sdk-v2
    // tests/unit/signer/test_v1.py): object and bucket requests, `?acl`, a parameter that is
    // not a sub-resource (`non-resousce`, sic) left out, sub-resources sorted.
    #[test]
    fn go_sdk_v2_vectors() {
        let date = "Wed, 28 Dec 2022 10:27:41 GMT";
        let object_headers = [
            ("content-md5", "eB5eJF1ptWaXm4bijSPyxw=="),
            ("content-type", "text/html"),
            ("x-oss-meta-author", "alice"),
            ("x-oss-meta-magic", "abracadabra"),
            ("x-oss-date", date),
        ];
        let cases = [
            (
                request("PUT", "/examplebucket/nelson", &[], &object_headers),
                "PUT\neB5eJF1ptWaXm4bijSPyxw==\ntext/html\nWed, 28 Dec 2022 10:27:41 GMT\n\
                 x-oss-date:Wed, 28 Dec 2022 10:27:41 GMT\nx-oss-meta-author:alice\n\
                 x-oss-meta-magic:abracadabra\n/examplebucket/nelson",
                "OSS ak:kSHKmLxlyEAKtZPkJhG9bZb5k7M=",
            ),
            (
                request(
                    "PUT",
                    "/examplebucket/nelson",
                    &[("acl", None)],
                    &object_headers,
                ),
                "PUT\neB5eJF1ptWaXm4bijSPyxw==\ntext/html\nWed, 28 Dec 2022 10:27:41 GMT\n\
                 x-oss-date:Wed, 28 Dec 2022 10:27:41 GMT\nx-oss-meta-author:alice\n\
                 x-oss-meta-magic:abracadabra\n/examplebucket/nelson?acl",
                "OSS ak:/afkugFbmWDQ967j1vr6zygBLQk=",
            ),
            (
                request(
                    "GET",
                    "/examplebucket",
                    &[("resourceGroup", None), ("non-resousce", Some("null"))],
                    &[("x-oss-date", date)],
                ),
                "GET\n\n\nWed, 28 Dec 2022 10:27:41 GMT\n\
                 x-oss-date:Wed, 28 Dec 2022 10:27:41 GMT\n/examplebucket/?resourceGroup",
                "OSS ak:vkQmfuUDyi1uDi3bKt67oemssIs=",
            ),
            (
                request(
                    "GET",
                    "/examplebucket",
                    &[("resourceGroup", None), ("acl", None)],
                    &[("x-oss-date", date)],
                ),
                "GET\n\n\nWed, 28 Dec 2022 10:27:41 GMT\n\
                 x-oss-date:Wed, 28 Dec 2022 10:27:41 GMT\n/examplebucket/?acl&resourceGroup",
                "OSS ak:x3E5TgOvl/i7PN618s5mEvpJDYk=",
            ),
        ];
        for (req, expected_string, expected_auth) in cases {
            assert_eq!(string_to_sign(&req, date), expected_string);
            assert_eq!(authorization(&req, "ak", "sk", date), expected_auth);
        }
    }

    // aliyun/alibabacloud-oss-go-sdk-v2 oss/signer/signer_test.go, TestV1AuthQuery case 2:
    // the URL path is `/key%2B123`, and the published signature is that of the raw name
    // `key+123` (string to sign "GET\n\n\n1699808204\n/bucket/key+123?security-token=
    // token&versionId=versionId"). Presigned URLs use the same string to sign with the
    // Expires time in the Date slot (calcStringToSign is shared by header and query).
    #[test]
    fn key_is_signed_unencoded() {
        let req = request(
            "GET",
            "/bucket/key%2B123",
            &[
                ("versionId", Some("versionId")),
                ("security-token", Some("token")),
            ],
            &[],
        );
        assert_eq!(
            string_to_sign(&req, "1699808204"),
            "GET\n\n\n1699808204\n/bucket/key+123?security-token=token&versionId=versionId"
        );
        assert_eq!(
            authorization(&req, "ak", "sk", "1699808204"),
            "OSS ak:jzKYRrM5y6Br0dRFPaTGOsbrDhY="
        );

        // Spaces, slashes and non-ASCII: no published signature; the resource holds the
        // name as stored.
        let key = "dir/my file ü+?#%.txt";
        let req = request("GET", &format!("/bucket/{}", encode_greedy(key)), &[], &[]);
        assert_eq!(
            canonicalized_resource(&req),
            "/bucket/dir/my file ü+?#%.txt"
        );
    }

    #[test]
    fn bucket_and_service_resources() {
        let resource = |path: &str| canonicalized_resource(&request("GET", path, &[], &[]));
        assert_eq!(resource("/bucket"), "/bucket/");
        assert_eq!(resource("/bucket/"), "/bucket/");
        assert_eq!(resource("/"), "/");
    }

    fn upload_part_copy() -> HttpRequest {
        UploadPartCopyInput {
            bucket: Some("dst-bucket".into()),
            key: Some("dst key".into()),
            upload_id: Some("0004B9895DBBB6EC98E36".into()),
            part_number: Some(1),
            copy_source: Some("/src-bucket/src%20object?versionId=CAEQMxiB".into()),
            copy_source_range: Some("bytes=100-6291756".into()),
            copy_source_if_match: Some("\"5B3C1A2E053D763E1B002CC607C5A12F\"".into()),
            sse_customer_algorithm: Some("AES256".into()),
            ..Default::default()
        }
        .build()
        .unwrap()
    }

    #[test]
    fn upload_part_copy_in_oss_dialect() {
        let mut aws = upload_part_copy();
        aws.set_header("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
        aws.set_header("x-amz-date", "20120222T083221Z");
        aws.set_header("X-Amz-Security-Token", "token");
        aws.set_header("x-amz-meta-color", "blue");
        let oss = to_oss(&aws);

        assert!(oss.headers.iter().all(|(k, _)| !k.starts_with("x-amz-")));
        assert_eq!(
            oss.header("x-oss-copy-source"),
            Some("/src-bucket/src%20object?versionId=CAEQMxiB")
        );
        assert_eq!(
            oss.header("x-oss-copy-source-range"),
            Some("bytes=100-6291756")
        );
        assert_eq!(
            oss.header("x-oss-copy-source-if-match"),
            Some("\"5B3C1A2E053D763E1B002CC607C5A12F\"")
        );
        assert_eq!(
            oss.header("x-oss-server-side-encryption-customer-algorithm"),
            Some("AES256")
        );
        assert_eq!(oss.header("x-oss-security-token"), Some("token"));
        assert_eq!(oss.header("x-oss-meta-color"), Some("blue"));
        assert_eq!(oss.header("x-oss-content-sha256"), None);
        assert_eq!(oss.header("x-oss-date"), None);
        // x-id goes; the sub-resources stay.
        assert_eq!(
            oss.query,
            vec![
                ("partNumber".to_string(), Some("1".to_string())),
                (
                    "uploadId".to_string(),
                    Some("0004B9895DBBB6EC98E36".to_string())
                ),
            ]
        );
        assert_eq!(oss.path, aws.path);
        assert_eq!(oss.method, "PUT");

        let date = "Wed, 22 Feb 2012 08:32:21 GMT";
        assert_eq!(
            string_to_sign(&oss, date),
            "PUT\n\n\nWed, 22 Feb 2012 08:32:21 GMT\n\
             x-oss-copy-source:/src-bucket/src%20object?versionId=CAEQMxiB\n\
             x-oss-copy-source-if-match:\"5B3C1A2E053D763E1B002CC607C5A12F\"\n\
             x-oss-copy-source-range:bytes=100-6291756\n\
             x-oss-meta-color:blue\n\
             x-oss-security-token:token\n\
             x-oss-server-side-encryption-customer-algorithm:AES256\n\
             /dst-bucket/dst key?partNumber=1&uploadId=0004B9895DBBB6EC98E36"
        );
    }

    #[test]
    fn sub_resources_sorted_and_others_dropped() {
        let req = request(
            "PUT",
            "/b/k",
            &[
                ("uploadId", Some("id/+=")),
                ("x-id", Some("UploadPart")),
                ("partNumber", Some("2")),
                ("max-parts", Some("5")),
            ],
            &[],
        );
        assert_eq!(
            canonicalized_resource(&req),
            "/b/k?partNumber=2&uploadId=id/+="
        );
    }

    #[test]
    fn uploads_is_bare() {
        let aws = CreateMultipartUploadInput {
            bucket: Some("b".into()),
            key: Some("k".into()),
            ..Default::default()
        }
        .build()
        .unwrap();
        let oss = to_oss(&aws);
        assert_eq!(canonicalized_resource(&oss), "/b/k?uploads");
        let empty = request("POST", "/b/k", &[("uploads", Some(""))], &[]);
        assert_eq!(canonicalized_resource(&empty), "/b/k?uploads");
    }

    #[test]
    fn oss_headers_lowercased_sorted_trimmed_joined() {
        let req = request(
            "GET",
            "/b/k",
            &[],
            &[
                ("X-OSS-Meta-Zeta", " last "),
                ("x-oss-meta-name", "TaoBao"),
                ("Content-Type", "text/plain"),
                ("X-Oss-Meta-Name", "Alipay"),
                ("x-amz-meta-ignored", "not signed"),
                ("x-oss-acl", "private"),
            ],
        );
        assert_eq!(
            canonicalized_oss_headers(&req),
            "x-oss-acl:private\nx-oss-meta-name:TaoBao,Alipay\nx-oss-meta-zeta:last\n"
        );
        assert_eq!(
            canonicalized_oss_headers(&request("GET", "/", &[], &[])),
            ""
        );
    }
}
