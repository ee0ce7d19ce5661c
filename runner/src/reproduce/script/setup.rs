//! A case's setup steps as AWS CLI commands.

use super::*;

pub(super) fn setup_step(w: &mut Writer, step: &Step) -> Result<(), NotScripted> {
    match step {
        Step::CreateBucket { name } => {
            let bucket = format!("${{bucket}}-{}", sanitize(name));
            w.line(format!("make_bucket \"{bucket}\""));
            w.buckets.insert(name.clone(), bucket);
        }
        Step::EnableVersioning { bucket } | Step::SuspendVersioning { bucket } => {
            let status = if matches!(step, Step::EnableVersioning { .. }) {
                "Enabled"
            } else {
                "Suspended"
            };
            let b = w.bucket(bucket)?;
            w.line(format!(
                "s3api put-bucket-versioning --bucket \"{b}\" --versioning-configuration Status={status}"
            ));
        }
        Step::PutObject {
            name,
            key,
            bucket,
            size,
            sse_c,
            checksum_algorithm,
            input,
        } => {
            let b = w.bucket(bucket)?;
            let key = key.clone().unwrap_or_else(|| name.clone());
            let file = w.file(*size);
            let mut options = String::new();
            if *sse_c {
                options.push_str(SSE_CLI);
            }
            if let Some(algorithm) = checksum_algorithm {
                let _ = write!(options, " --checksum-algorithm {algorithm}");
            }
            for (member, value) in input {
                let value = w.cli_value(value)?;
                let _ = write!(options, " --{} {value}", super::super::kebab(member));
            }
            w.line(format!(
                "out=$(s3api put-object --bucket \"{b}\" --key \"{}\" --body {file}{options} \
                 --query '[ETag,VersionId]' --output text)",
                dq(&key)
            ));
            capture_object(w, name, "$out");
            w.objects.insert(
                name.clone(),
                Object {
                    bucket: b,
                    key,
                    size: *size,
                    sse_c: *sse_c,
                },
            );
        }
        Step::PutMultipartObject {
            name,
            key,
            bucket,
            parts,
            checksum_algorithm,
            checksum_type,
            complete,
        } => {
            if checksum_algorithm.is_some() || checksum_type.is_some() || !complete.is_empty() {
                return Err("a multipart object with checksums in its setup".into());
            }
            let upload = format!("{name}_upload");
            let key = key.clone().unwrap_or_else(|| name.clone());
            create_upload(w, &upload, &key, bucket, false)?;
            for (i, size) in parts.iter().enumerate() {
                let part = format!("{name}_part{}", i + 1);
                upload_part(w, &upload, i as i64 + 1, *size, &part)?;
            }
            let (b, parts_var) = (w.uploads[&upload].bucket.clone(), var(&upload, "parts"));
            w.line(format!(
                "out=$(s3api complete-multipart-upload --bucket \"{b}\" --key \"{}\" --upload-id \"${{{}}}\" \
                 --multipart-upload \"{{\\\"Parts\\\":[${{{parts_var}}}]}}\" --query '[ETag,VersionId]' --output text)",
                dq(&key),
                var(&upload, "id")
            ));
            capture_object(w, name, "$out");
            w.objects.insert(
                name.clone(),
                Object {
                    bucket: b,
                    key,
                    size: parts.iter().sum(),
                    sse_c: false,
                },
            );
        }
        Step::DeleteObject { name } => {
            let o = w
                .objects
                .get(name)
                .ok_or_else(|| format!("no object named {name:?}"))?;
            let line = format!(
                "{}=$(none \"$(s3api delete-object --bucket \"{}\" --key \"{}\" --query VersionId --output text)\")",
                var(name, "delete_marker"),
                o.bucket,
                dq(&o.key)
            );
            w.line(line);
        }
        Step::CreateUpload {
            name,
            key,
            bucket,
            sse_c,
            checksum_algorithm,
            checksum_type,
        } => {
            if checksum_algorithm.is_some() || checksum_type.is_some() {
                return Err("an upload with a checksum algorithm in its setup".into());
            }
            let key = key.clone().unwrap_or_else(|| name.clone());
            create_upload(w, name, &key, bucket, *sse_c)?;
        }
        Step::UploadPart {
            upload,
            number,
            size,
            name,
            checksum,
        } => {
            if checksum.is_some() {
                return Err("a part with a checksum in its setup".into());
            }
            upload_part(w, upload, *number, *size, name)?;
        }
        Step::CopyPart {
            upload,
            number,
            source,
            range,
            name,
        } => {
            let up = w
                .uploads
                .get(upload)
                .ok_or_else(|| format!("no upload named {upload:?}"))?;
            let src = w
                .objects
                .get(source)
                .ok_or_else(|| format!("no object named {source:?}"))?;
            let size = match range {
                Some(r) => {
                    let (a, b) = r.split_once('-').ok_or("a range without -")?;
                    let (a, b): (u64, u64) = (
                        a.parse().map_err(|_| "a range's start")?,
                        b.parse().map_err(|_| "a range's end")?,
                    );
                    b.saturating_sub(a) + 1
                }
                None => src.size,
            };
            let range = range
                .as_ref()
                .map(|r| format!(" --copy-source-range bytes={r}"))
                .unwrap_or_default();
            let sse = if up.sse_c { SSE_CLI } else { "" };
            let line = format!(
                "etag=$(s3api upload-part-copy --bucket \"{}\" --key \"{}\" --upload-id \"${{{}}}\" --part-number {number} \
                 --copy-source \"{}/{}\"{range}{sse} --query CopyPartResult.ETag --output text)",
                up.bucket,
                dq(&up.key),
                var(upload, "id"),
                src.bucket,
                dq(&src.key)
            );
            w.line(line);
            record_part(w, upload, *number, size, name);
        }
        Step::CompleteUpload {
            upload,
            if_none_match,
            if_match,
            checksum_type,
            full_object_checksum,
        } => {
            if checksum_type.is_some() || *full_object_checksum {
                return Err("a Complete with checksums in its setup".into());
            }
            if if_match.is_some() {
                return Err("a Complete with If-Match in its setup".into());
            }
            let up = w
                .uploads
                .get(upload)
                .ok_or_else(|| format!("no upload named {upload:?}"))?;
            let condition = if_none_match
                .as_ref()
                .map(|v| format!(" --if-none-match \"{}\"", dq(v)))
                .unwrap_or_default();
            let sse = if up.sse_c { SSE_CLI } else { "" };
            let line = format!(
                "s3api complete-multipart-upload --bucket \"{}\" --key \"{}\" --upload-id \"${{{}}}\" \
                 --multipart-upload \"{{\\\"Parts\\\":[${{{}}}]}}\"{condition}{sse} >/dev/null",
                up.bucket,
                dq(&up.key),
                var(upload, "id"),
                var(upload, "parts")
            );
            w.line(line);
        }
        Step::AbortUpload { upload } => {
            let up = w
                .uploads
                .get(upload)
                .ok_or_else(|| format!("no upload named {upload:?}"))?;
            let line = format!(
                "s3api abort-multipart-upload --bucket \"{}\" --key \"{}\" --upload-id \"${{{}}}\"",
                up.bucket,
                dq(&up.key),
                var(upload, "id")
            );
            w.line(line);
        }
    }
    Ok(())
}

/// ETag and version id of a write, from `ETag<TAB>VersionId` text.
pub(super) fn capture_object(w: &mut Writer, name: &str, out: &str) {
    let (etag, version) = (var(name, "etag"), var(name, "version_id"));
    w.line(format!("IFS=$'\\t' read -r {etag} {version} <<< \"{out}\""));
    w.line(format!("{version}=$(none \"${{{version}}}\")"));
    w.line(format!(
        "{}=\"${{{etag}//\\\"/}}\"",
        var(name, "etag_unquoted")
    ));
}

pub(super) fn create_upload(
    w: &mut Writer,
    name: &str,
    key: &str,
    bucket: &str,
    sse_c: bool,
) -> Result<(), NotScripted> {
    let b = w.bucket(bucket)?;
    let sse = if sse_c { SSE_CLI } else { "" };
    w.line(format!(
        "{}=$(s3api create-multipart-upload --bucket \"{b}\" --key \"{}\"{sse} --query UploadId --output text)",
        var(name, "id"),
        dq(key)
    ));
    w.line(format!("{}=\"\"", var(name, "parts")));
    w.uploads.insert(
        name.to_string(),
        Upload {
            bucket: b,
            key: key.to_string(),
            sse_c,
            size: 0,
        },
    );
    Ok(())
}

pub(super) fn upload_part(
    w: &mut Writer,
    upload: &str,
    number: i64,
    size: u64,
    name: &str,
) -> Result<(), NotScripted> {
    let file = w.file(size);
    let up = w
        .uploads
        .get(upload)
        .ok_or_else(|| format!("no upload named {upload:?}"))?;
    let sse = if up.sse_c { SSE_CLI } else { "" };
    let line = format!(
        "etag=$(s3api upload-part --bucket \"{}\" --key \"{}\" --upload-id \"${{{}}}\" --part-number {number} \
         --body {file}{sse} --query ETag --output text)",
        up.bucket,
        dq(&up.key),
        var(upload, "id")
    );
    w.line(line);
    record_part(w, upload, number, size, name);
    Ok(())
}

/// A part the server took: in the upload's part list, and named like an object.
pub(super) fn record_part(w: &mut Writer, upload: &str, number: i64, size: u64, name: &str) {
    let parts = var(upload, "parts");
    w.line(format!(
        "{parts}=\"${{{parts}:+${{{parts}}},}}{{\\\"PartNumber\\\":{number},\\\"ETag\\\":$(json_str \"$etag\")}}\""
    ));
    w.line(format!("{}=\"$etag\"", var(name, "etag")));
    w.line(format!(
        "{}=\"${{etag//\\\"/}}\"",
        var(name, "etag_unquoted")
    ));
    let up = w.uploads.get_mut(upload).expect("the upload was checked");
    up.size += size;
    let (bucket, key, sse_c) = (up.bucket.clone(), up.key.clone(), up.sse_c);
    w.objects.insert(
        name.to_string(),
        Object {
            bucket,
            key,
            size,
            sse_c,
        },
    );
}
