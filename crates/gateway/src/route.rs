//! Routing: (host, method, path) → API and operation. Routes are tried most specific first:
//! a host-bound route before a host-less one, more literal segments before fewer, an exact
//! template before a trailing `*`.

use crate::spec::{GatewaySpec, RouteSpec, Segment};

/// A matched route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// Index of the API in the spec.
    pub api: usize,
    /// Index of the route within the API.
    pub route: usize,
    /// Captured path parameters.
    pub params: Vec<(String, String)>,
}

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteMiss {
    /// No route has this path.
    NotFound,
    /// A route has this path, but not this method.
    MethodNotAllowed,
}

/// The compiled route table.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    order: Vec<(usize, usize)>,
}

fn specificity(r: &RouteSpec) -> (bool, usize, bool) {
    let literals = r
        .path
        .iter()
        .filter(|s| matches!(s, Segment::Literal(_)))
        .count();
    (r.host.is_some(), literals, !r.rest)
}

impl RouteTable {
    /// Orders every route of `spec` by specificity.
    pub fn build(spec: &GatewaySpec) -> Self {
        let mut order: Vec<(usize, usize)> = spec
            .apis
            .iter()
            .enumerate()
            .flat_map(|(a, api)| (0..api.routes.len()).map(move |r| (a, r)))
            .collect();
        order.sort_by(|x, y| {
            let rx = spec
                .apis
                .get(x.0)
                .and_then(|a| a.routes.get(x.1))
                .map(specificity);
            let ry = spec
                .apis
                .get(y.0)
                .and_then(|a| a.routes.get(y.1))
                .map(specificity);
            ry.cmp(&rx)
        });
        Self { order }
    }

    /// Finds the route for a request. `host` is the request's host without port.
    pub fn find(
        &self,
        spec: &GatewaySpec,
        host: Option<&str>,
        method: &http::Method,
        path: &str,
    ) -> Result<RouteMatch, RouteMiss> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut path_matched = false;
        for &(a, r) in &self.order {
            let Some(route) = spec.apis.get(a).and_then(|api| api.routes.get(r)) else {
                continue;
            };
            if let Some(h) = &route.host
                && host.is_none_or(|req| !req.eq_ignore_ascii_case(h))
            {
                continue;
            }
            let Some(params) = match_path(route, &segments) else {
                continue;
            };
            path_matched = true;
            if route.methods.is_empty() || route.methods.contains(method) {
                return Ok(RouteMatch {
                    api: a,
                    route: r,
                    params,
                });
            }
        }
        Err(if path_matched {
            RouteMiss::MethodNotAllowed
        } else {
            RouteMiss::NotFound
        })
    }
}

fn match_path(route: &RouteSpec, segments: &[&str]) -> Option<Vec<(String, String)>> {
    if segments.len() < route.path.len() || (!route.rest && segments.len() != route.path.len()) {
        return None;
    }
    let mut params = Vec::new();
    for (tpl, seg) in route.path.iter().zip(segments) {
        match tpl {
            Segment::Literal(l) if l == seg => {}
            Segment::Literal(_) => return None,
            Segment::Param(name) => params.push((name.clone(), (*seg).to_owned())),
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::RawGateway;

    fn spec(toml_routes: &[(&str, &str, &[&str], Option<&str>)]) -> GatewaySpec {
        let routes = toml_routes
            .iter()
            .map(|(op, path, methods, host)| crate::spec::RawRoute {
                operation: (*op).into(),
                path: (*path).into(),
                methods: methods.iter().map(|m| (*m).to_owned()).collect(),
                host: host.map(str::to_owned),
                ..Default::default()
            })
            .collect();
        let raw = RawGateway {
            listen: Some("127.0.0.1:0".into()),
            apis: vec![crate::spec::RawApi {
                api: "orders".into(),
                upstreams: vec!["http://127.0.0.1:1".into()],
                routes,
                ..Default::default()
            }],
            ..Default::default()
        };
        raw.validate().unwrap().unwrap()
    }

    #[test]
    fn literal_beats_param_and_exact_beats_rest() {
        let s = spec(&[
            ("any", "/orders/*", &[], None),
            ("get", "/orders/{id}", &["GET"], None),
            ("mine", "/orders/mine", &["GET"], None),
        ]);
        let t = RouteTable::build(&s);
        let op = |path: &str| {
            let m = t.find(&s, None, &http::Method::GET, path).unwrap();
            (s.apis[m.api].routes[m.route].operation.clone(), m.params)
        };
        assert_eq!(op("/orders/mine").0, "mine");
        assert_eq!(
            op("/orders/42"),
            ("get".into(), vec![("id".into(), "42".into())])
        );
        assert_eq!(op("/orders/42/items").0, "any");
    }

    #[test]
    fn wrong_method_is_distinguished_from_unknown_path() {
        let s = spec(&[("get", "/orders/{id}", &["GET"], None)]);
        let t = RouteTable::build(&s);
        assert_eq!(
            t.find(&s, None, &http::Method::DELETE, "/orders/1"),
            Err(RouteMiss::MethodNotAllowed)
        );
        assert_eq!(
            t.find(&s, None, &http::Method::GET, "/nope"),
            Err(RouteMiss::NotFound)
        );
        assert_eq!(
            t.find(&s, None, &http::Method::GET, "/orders"),
            Err(RouteMiss::NotFound)
        );
    }

    #[test]
    fn host_bound_routes_match_only_their_host() {
        let s = spec(&[
            ("a", "/x", &[], Some("a.example")),
            ("any", "/x", &[], None),
        ]);
        let t = RouteTable::build(&s);
        let op = |host| {
            let m = t.find(&s, host, &http::Method::GET, "/x").unwrap();
            s.apis[m.api].routes[m.route].operation.clone()
        };
        assert_eq!(op(Some("A.example")), "a");
        assert_eq!(op(Some("b.example")), "any");
        assert_eq!(op(None), "any");
    }
}
