//! The methods each path answers, for the `Allow` header of a `405` (RFC 9110 §15.5.6), and the
//! route template a request path matches, which labels its log line and metrics.
//!
//! Built once at start-up from the OpenAPI document (every operation's path and method) plus the
//! plain GET routes (docs, `/status`, `/metrics`), so the header can never disagree with the
//! routes: nothing is listed by hand per route.

use poem::http::Method;

/// Methods in the order `Allow` lists them.
const ORDER: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// Path templates (`/conversations/{id}`) and the methods each one answers.
#[derive(Debug, Clone, Default)]
pub struct RouteMethods {
    routes: Vec<Route>,
}

#[derive(Debug, Clone)]
struct Route {
    /// As written in the document, e.g. `/conversations/{id}`.
    template: String,
    segments: Vec<Segment>,
    methods: Vec<Method>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}`: any one non-empty segment.
    Param,
}

impl RouteMethods {
    /// Every operation of an OpenAPI document (`paths` → method → operation).
    pub fn from_openapi(spec: &serde_json::Value) -> Self {
        let mut table = Self::default();
        let paths = spec.get("paths").and_then(|p| p.as_object());
        for (path, item) in paths.into_iter().flatten() {
            for method in item.as_object().into_iter().flat_map(|ops| ops.keys()) {
                if let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) {
                    table.add(path, method);
                }
            }
        }
        table
    }

    /// Records that `path` (a template with `{param}` segments) answers `method`.
    pub fn add(&mut self, path: &str, method: Method) {
        let parsed = segments(path)
            .map(|s| {
                if s.starts_with('{') && s.ends_with('}') {
                    Segment::Param
                } else {
                    Segment::Literal(s.to_owned())
                }
            })
            .collect::<Vec<_>>();
        match self.routes.iter_mut().find(|r| r.segments == parsed) {
            Some(route) if !route.methods.contains(&method) => route.methods.push(method),
            Some(_) => {}
            None => self.routes.push(Route {
                template: path.to_owned(),
                segments: parsed,
                methods: vec![method],
            }),
        }
    }

    /// The route a request path matches (a literal segment beats a parameter).
    fn matching(&self, path: &str) -> Option<&Route> {
        let request: Vec<&str> = segments(path).collect();
        self.routes
            .iter()
            .filter(|route| matches(&route.segments, &request))
            .max_by_key(|route| {
                route
                    .segments
                    .iter()
                    .filter(|s| matches!(s, Segment::Literal(_)))
                    .count()
            })
    }

    /// The template of the route `path` matches (`/conversations/{id}/messages`), whatever its
    /// method: one label style for logs and metrics, bounded by the number of routes.
    pub fn template(&self, path: &str) -> Option<&str> {
        self.matching(path).map(|route| route.template.as_str())
    }

    /// The `Allow` value for a request path: the methods of the template it matches (a literal
    /// segment beats a parameter), with `HEAD` wherever `GET` is (poem answers `HEAD` with the
    /// `GET` handler). Empty when no route matches, which RFC 9110 reads as "no method".
    pub fn allow(&self, path: &str) -> String {
        let Some(Route { methods, .. }) = self.matching(path) else {
            return String::new();
        };
        ORDER
            .iter()
            .filter(|m| {
                methods.contains(m) || (**m == Method::HEAD && methods.contains(&Method::GET))
            })
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn matches(template: &[Segment], request: &[&str]) -> bool {
    template.len() == request.len()
        && template.iter().zip(request).all(|(t, r)| match t {
            Segment::Literal(l) => l == r,
            Segment::Param => true,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteMethods {
        RouteMethods::from_openapi(&serde_json::json!({
            "paths": {
                "/conversations/{id}": {"get": {}, "post": {}, "delete": {}},
                "/conversations/{id}/messages": {"get": {}, "post": {}},
                "/messages/{id}": {"patch": {}, "delete": {}},
                "/user/{id}": {"get": {}},
                "/user/blocked": {"get": {}},
            }
        }))
    }

    #[test]
    fn allow_lists_the_methods_of_the_matching_template_with_head_beside_get() {
        let table = table();
        assert_eq!(
            table.allow("/conversations/0191b2c3-abcd-7def-8000-000000000000"),
            "GET, HEAD, POST, DELETE"
        );
        assert_eq!(table.allow("/conversations/x/messages/"), "GET, HEAD, POST");
        assert_eq!(table.allow("/messages/x"), "PATCH, DELETE");
        assert_eq!(table.allow("/nowhere"), "");
    }

    #[test]
    fn a_literal_segment_beats_a_parameter() {
        let mut table = table();
        table.add("/user/blocked", Method::DELETE);
        assert_eq!(table.allow("/user/blocked"), "GET, HEAD, DELETE");
        assert_eq!(table.allow("/user/someone"), "GET, HEAD");
        assert_eq!(table.template("/user/blocked"), Some("/user/blocked"));
        assert_eq!(table.template("/user/someone"), Some("/user/{id}"));
        assert_eq!(table.template("/nowhere"), None);
    }
}
