//! Open311's two formats from one document: XML as the specification
//! writes it (a declaration, then elements without a namespace) and JSON
//! by its Spark convention (a list is an array of objects, a record an
//! object). Each handler builds a [`Doc`]; [`Doc::render`] writes it.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// The format a client asked for by the resource's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// `services.json` → (`services`, JSON); an unknown or missing
    /// extension is XML (the format the specification requires) and an
    /// error naming what was asked.
    pub fn split(file: &str) -> Result<(&str, Format), (&str, String)> {
        match file.rsplit_once('.') {
            Some((name, "json")) => Ok((name, Format::Json)),
            Some((name, "xml")) => Ok((name, Format::Xml)),
            Some((name, other)) => Err((
                name,
                format!("format .{other} is not served: ask for .json or .xml"),
            )),
            None => Err((
                file,
                "the resource names no format: add .json or .xml".into(),
            )),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// One field's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Not known or not given: JSON `null`, an empty XML element.
    Null,
    /// Nested records, each in an element named by the first field (XML)
    /// or as an array of objects (JSON): `attributes`/`attribute`.
    List(&'static str, Vec<Record>),
    /// Plain values, each in an element of the given name (XML) or as an
    /// array of strings (JSON): `formats`/`format`.
    Strings(&'static str, Vec<String>),
}

impl Value {
    /// A string, or null when empty.
    pub fn text(s: impl Into<String>) -> Value {
        let s = s.into();
        if s.is_empty() {
            Value::Null
        } else {
            Value::Str(s)
        }
    }
}

/// Named fields, in the order the specification lists them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record(pub Vec<(&'static str, Value)>);

impl Record {
    pub fn with(mut self, name: &'static str, value: Value) -> Self {
        self.0.push((name, value));
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// A whole response body.
#[derive(Clone, Debug, PartialEq)]
pub enum Doc {
    /// `<root><item>…</item>…</root>`, or a JSON array.
    List {
        root: &'static str,
        item: &'static str,
        records: Vec<Record>,
    },
    /// `<root>…</root>`, or a JSON object.
    One { root: &'static str, record: Record },
}

impl Doc {
    /// The body in `format`.
    pub fn body(&self, format: Format) -> String {
        match format {
            Format::Json => {
                let v = match self {
                    Doc::List { records, .. } => {
                        serde_json::Value::Array(records.iter().map(json_record).collect())
                    }
                    Doc::One { record, .. } => json_record(record),
                };
                v.to_string()
            }
            Format::Xml => {
                let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
                match self {
                    Doc::List {
                        root,
                        item,
                        records,
                    } => {
                        out += &format!("<{root}>");
                        for r in records {
                            xml_record(&mut out, item, r);
                        }
                        out += &format!("</{root}>");
                    }
                    Doc::One { root, record } => xml_record(&mut out, root, record),
                }
                out.push('\n');
                out
            }
        }
    }

    /// The response: `status`, the format's content type, the body.
    pub fn render(&self, format: Format, status: StatusCode) -> Response {
        let mut r = (status, self.body(format)).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        r
    }
}

fn json_record(r: &Record) -> serde_json::Value {
    serde_json::Value::Object(
        r.0.iter()
            .map(|(name, v)| (name.to_string(), json_value(v)))
            .collect(),
    )
}

fn json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Str(s) => serde_json::Value::String(s.clone()),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Null => serde_json::Value::Null,
        Value::List(_, records) => {
            serde_json::Value::Array(records.iter().map(json_record).collect())
        }
        Value::Strings(_, values) => serde_json::Value::Array(
            values
                .iter()
                .map(|v| serde_json::Value::String(v.clone()))
                .collect(),
        ),
    }
}

fn xml_record(out: &mut String, element: &str, r: &Record) {
    *out += &format!("<{element}>");
    for (name, v) in &r.0 {
        match v {
            Value::List(item, records) => {
                *out += &format!("<{name}>");
                for r in records {
                    xml_record(out, item, r);
                }
                *out += &format!("</{name}>");
            }
            Value::Strings(item, values) => {
                *out += &format!("<{name}>");
                for v in values {
                    *out += &format!("<{item}>{}</{item}>", escape(v));
                }
                *out += &format!("</{name}>");
            }
            Value::Null => *out += &format!("<{name}></{name}>"),
            Value::Str(s) => *out += &format!("<{name}>{}</{name}>", escape(s)),
            Value::Int(i) => *out += &format!("<{name}>{i}</{name}>"),
            Value::Float(f) => *out += &format!("<{name}>{f}</{name}>"),
            Value::Bool(b) => *out += &format!("<{name}>{b}</{name}>"),
        }
    }
    *out += &format!("</{element}>");
}

/// Text as XML character data: markup escaped, and the characters XML 1.0
/// cannot carry at all (controls other than tab, newline and return)
/// left out.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn doc() -> Doc {
        Doc::List {
            root: "service_requests",
            item: "request",
            records: vec![
                Record::default()
                    .with("service_request_id", Value::text("HL00000001"))
                    .with("description", Value::text("a <b> & \"c\"\u{0}"))
                    .with("lat", Value::Float(39.9))
                    .with("media_url", Value::Null)
                    .with(
                        "values",
                        Value::List(
                            "value",
                            vec![Record::default().with("key", Value::text("k"))],
                        ),
                    ),
            ],
        }
    }

    #[test]
    fn xml_is_declared_escaped_and_nested() {
        let xml = doc().body(Format::Xml);
        assert!(xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_requests><request>"
        ));
        assert!(xml.contains("<description>a &lt;b&gt; &amp; &quot;c&quot;</description>"));
        assert!(xml.contains("<media_url></media_url>"));
        assert!(xml.contains("<values><value><key>k</key></value></values>"));
        assert!(xml.contains("<lat>39.9</lat>"));
    }

    #[test]
    fn json_is_an_array_of_objects() {
        let v: serde_json::Value = serde_json::from_str(&doc().body(Format::Json)).unwrap();
        assert_eq!(v[0]["service_request_id"], "HL00000001");
        assert_eq!(v[0]["lat"], 39.9);
        assert!(v[0]["media_url"].is_null());
        assert_eq!(v[0]["values"][0]["key"], "k");
    }

    #[test]
    fn the_format_is_the_extension() {
        assert_eq!(
            Format::split("services.json"),
            Ok(("services", Format::Json))
        );
        assert_eq!(
            Format::split("water.outage.xml"),
            Ok(("water.outage", Format::Xml))
        );
        assert!(Format::split("services.yaml").is_err());
        assert!(Format::split("services").is_err());
    }
}
