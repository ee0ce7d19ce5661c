//! A small XML element tree read with quick-xml, a writer, and the readers and writers of
//! model members that generated code calls.

use crate::error::{ResponseError, S3Error};
use crate::http::HttpResponse;
use crate::values::{FromXml, ToXml};

/// A small XML element tree: element name (without prefix), text, children in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XmlNode {
    pub name: String,
    pub text: String,
    pub children: Vec<XmlNode>,
}

impl XmlNode {
    pub fn parse(bytes: &[u8]) -> Result<XmlNode, String> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_reader(bytes);
        let mut stack: Vec<XmlNode> = Vec::new();
        let mut buf = Vec::new();
        // Documents deeper than this are refused rather than followed.
        const MAX_DEPTH: usize = 64;
        loop {
            let event = reader
                .read_event_into(&mut buf)
                .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
            match event {
                Event::Start(start) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err("XML nested too deeply".into());
                    }
                    let name = start.local_name().as_ref().to_string();
                    stack.push(XmlNode {
                        name,
                        ..XmlNode::default()
                    });
                }
                Event::Empty(start) => {
                    let name = start.local_name().as_ref().to_string();
                    let node = XmlNode {
                        name,
                        ..XmlNode::default()
                    };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => return Ok(node),
                    }
                }
                Event::Text(text) => {
                    if let Some(node) = stack.last_mut() {
                        // Entities arrive as their own events, so text needs no unescaping.
                        node.text.push_str(&text.xml10_content());
                    }
                }
                Event::GeneralRef(reference) => {
                    if let Some(node) = stack.last_mut() {
                        let entity = format!("&{};", reference.into_inner());
                        let unescaped = quick_xml::escape::unescape(&entity)
                            .map_err(|e| format!("XML entity: {e}"))?;
                        node.text.push_str(&unescaped);
                    }
                }
                Event::CData(data) => {
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&data.into_inner());
                    }
                }
                Event::End(_) => {
                    let node = stack.pop().ok_or("unbalanced XML end tag")?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => return Ok(node),
                    }
                }
                Event::Eof if stack.is_empty() => return Err("no XML document".into()),
                Event::Eof => {
                    return Err("the XML document ends before its last element closes".into())
                }
                _ => {}
            }
            buf.clear();
        }
    }

    pub fn child(&self, name: &str) -> Option<&XmlNode> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a XmlNode> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Writes XML elements into a string.
#[derive(Default)]
pub struct XmlWriter {
    pub out: String,
}

impl XmlWriter {
    pub fn open(&mut self, name: &str, namespace: Option<&str>) {
        match namespace {
            Some(ns) => self.out.push_str(&format!("<{name} xmlns=\"{ns}\">")),
            None => self.out.push_str(&format!("<{name}>")),
        }
    }
    pub fn close(&mut self, name: &str) {
        self.out.push_str(&format!("</{name}>"));
    }
    pub fn text(&mut self, text: &str) {
        self.out.push_str(&quick_xml::escape::escape(text));
    }
}

/// Reads a member from the child element of that name.
pub fn xml_member<T: FromXml>(node: &XmlNode, name: &str) -> Result<Option<T>, String> {
    node.child(name)
        .map(|c| T::from_xml(c).map_err(|e| format!("<{name}>: {e}")))
        .transpose()
}

/// Reads a flattened list: every child element of that name, in document order.
pub fn xml_flat_list<T: FromXml>(node: &XmlNode, name: &str) -> Result<Option<Vec<T>>, String> {
    let items: Vec<T> = node
        .children_named(name)
        .map(|c| T::from_xml(c).map_err(|e| format!("<{name}>: {e}")))
        .collect::<Result<_, _>>()?;
    Ok((!items.is_empty()).then_some(items))
}

/// Reads a wrapped list: `<Name><Item>…</Item>…</Name>`.
pub fn xml_wrapped_list<T: FromXml>(
    node: &XmlNode,
    name: &str,
    item: &str,
) -> Result<Option<Vec<T>>, String> {
    node.child(name)
        .map(|wrapper| {
            wrapper
                .children_named(item)
                .map(|c| T::from_xml(c).map_err(|e| format!("<{name}><{item}>: {e}")))
                .collect()
        })
        .transpose()
}

pub fn write_xml_member<T: ToXml>(w: &mut XmlWriter, name: &str, value: &Option<T>) {
    if let Some(v) = value {
        w.open(name, None);
        v.to_xml(w);
        w.close(name);
    }
}

pub fn write_xml_flat_list<T: ToXml>(w: &mut XmlWriter, name: &str, value: &Option<Vec<T>>) {
    for v in value.iter().flatten() {
        w.open(name, None);
        v.to_xml(w);
        w.close(name);
    }
}

pub fn write_xml_wrapped_list<T: ToXml>(
    w: &mut XmlWriter,
    name: &str,
    item: &str,
    value: &Option<Vec<T>>,
) {
    if let Some(items) = value {
        w.open(name, None);
        for v in items {
            w.open(item, None);
            v.to_xml(w);
            w.close(item);
        }
        w.close(name);
    }
}

/// Parses the body of a response whose output is an XML document, first ruling out an
/// `<Error>` document (which S3 may send with status 200).
pub fn xml_body(response: &HttpResponse) -> Result<Option<XmlNode>, ResponseError> {
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let root = XmlNode::parse(&response.body).map_err(ResponseError::Malformed)?;
    if root.name == "Error" {
        return Err(ResponseError::Service(S3Error::from_response(response)));
    }
    Ok(Some(root))
}
