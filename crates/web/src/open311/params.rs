//! A request's arguments: the query string and, for a POST, its
//! form-encoded body (whose values come first). An argument given empty
//! is no argument at all (the specification's "Optional Arguments").

/// Arguments by name, in the order they came.
#[derive(Clone, Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// The body's arguments, then the query's.
    pub fn parse(query: Option<&str>, body: &[u8]) -> Params {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        if let Some(q) = query {
            pairs.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        Params(pairs)
    }

    /// The first non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n == name && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every `attribute[code]=value` and `attribute[code][]=value`, as
    /// (code, value), empty values left out.
    pub fn attributes(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .filter_map(|(n, v)| {
                let code = n.strip_prefix("attribute[")?;
                let code = code.strip_suffix("[]").unwrap_or(code).strip_suffix(']')?;
                Some((code.to_string(), v.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_comes_first_and_empty_is_absent() {
        let p = Params::parse(
            Some("api_key=q&jurisdiction_id=&phone=2"),
            b"api_key=b&description=a+b%26c&phone=",
        );
        assert_eq!(p.get("api_key"), Some("b"));
        assert_eq!(p.get("description"), Some("a b&c"));
        assert_eq!(p.get("jurisdiction_id"), None);
        assert_eq!(p.get("phone"), Some("2"));
    }

    #[test]
    fn attributes_single_and_listed() {
        let p = Params::parse(
            None,
            b"attribute%5Brequest_kind%5D=consultation&attribute[colour][]=red&attribute[colour][]=blue&attribute[x]=",
        );
        assert_eq!(
            p.attributes(),
            [
                ("request_kind".to_string(), "consultation".to_string()),
                ("colour".to_string(), "red".to_string()),
                ("colour".to_string(), "blue".to_string()),
            ]
        );
    }
}
