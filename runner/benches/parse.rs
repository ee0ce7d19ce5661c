//! Criterion benches of the runner's pure parts: `cargo bench -p runner --bench parse`.
//! `cargo xtask bench` copies the last results into docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use generated::operations::ListPartsOutput;
use std::fmt::Write as _;
use std::hint::black_box;
use wire::{HttpResponse, XmlNode};

/// A ListParts answer of `parts` parts, as S3 writes it.
fn list_parts_body(parts: u32) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <ListPartsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Bucket>mpc-0123abcd-0042</Bucket><Key>dest</Key>\
         <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>\
         <PartNumberMarker>0</PartNumberMarker>",
    );
    let _ = write!(
        xml,
        "<NextPartNumberMarker>{parts}</NextPartNumberMarker><MaxParts>{parts}</MaxParts>\
         <IsTruncated>false</IsTruncated>"
    );
    for n in 1..=parts {
        let _ = write!(
            xml,
            "<Part><PartNumber>{n}</PartNumber>\
             <LastModified>2026-11-22T10:{:02}:{:02}.000Z</LastModified>\
             <ETag>&quot;{:032x}&quot;</ETag><Size>5242880</Size></Part>",
            n / 60 % 60,
            n % 60,
            u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834)
        );
    }
    xml.push_str(
        "<Initiator><ID>arn:aws:iam::111122223333:user/mpc</ID><DisplayName>mpc</DisplayName></Initiator>\
         <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>\
         <DisplayName>mpc</DisplayName></Owner><StorageClass>STANDARD</StorageClass>\
         </ListPartsResult>",
    );
    xml.into_bytes()
}

fn benches(c: &mut Criterion) {
    let body = list_parts_body(1000);
    let response = HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/xml".into())],
        body: body.clone(),
    };
    let parsed = ListPartsOutput::parse(&response).expect("the body parses");
    assert_eq!(parsed.parts.as_ref().map(Vec::len), Some(1000));

    let mut group = c.benchmark_group("xml");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("ListPartsOutput::parse, 1000 parts", |b| {
        b.iter(|| ListPartsOutput::parse(black_box(&response)).expect("parse"))
    });
    group.bench_function("XmlNode::parse, ListParts of 1000 parts", |b| {
        b.iter(|| XmlNode::parse(black_box(&body)).expect("parse"))
    });
    group.finish();

    let mut group = c.benchmark_group("cases");
    group.throughput(Throughput::Bytes(generated::CASES_JSON.len() as u64));
    group.bench_function("read generated/cases.json into Vec<Case>", |b| {
        b.iter(|| {
            serde_json::from_str::<Vec<contract::Case>>(black_box(generated::CASES_JSON))
                .expect("cases.json")
        })
    });
    group.finish();
}

criterion_group!(parse_benches, benches);
criterion_main!(parse_benches);
