//! Where things are served outside the FHIR routes: the operators' paths and the lookup page's.
//! A leaf: the middlewares, the error handler and the routes all need to tell these paths
//! apart, and none of them should have to import another for it.

/// Paths that are not FHIR interactions, answered without credentials (`/metrics` aside, see
/// [`crate::settings::Settings::metrics_listen`]) and not counted as requests.
pub const HEALTH: &str = "/healthz";
pub const READY: &str = "/readyz";
pub const METRICS: &str = "/metrics";

/// Paths of the page: the search (`/`, its query in the URL), a practitioner and an
/// establishment. All three answer the same document; the script reads the path.
pub const SEARCH: &str = "/";
pub const PRACTITIONER: &str = "/professionnels/{id}";
pub const ESTABLISHMENT: &str = "/etablissements/{id}";
pub const SCRIPT_PATH: &str = "/ui/app.js";
pub const STYLE_PATH: &str = "/ui/app.css";
pub const ICON_PATH: &str = "/ui/icon.svg";
/// The labels of the codes of the generation served.
pub const LABELS: &str = "/ui/labels.json";

/// Sign-in with the OpenID provider (Pro Santé Connect): where the page sends a person to sign
/// in, where the provider sends them back (the redirect URI), sign-out, what the page knows of
/// the session, and the signed-in professional's own record.
pub const SIGNIN: &str = "/ui/connexion";
pub const SIGNIN_CALLBACK: &str = "/ui/connexion/retour";
pub const SIGNOUT: &str = "/ui/deconnexion";
pub const SESSION: &str = "/ui/session";
pub const MY_RECORD: &str = "/ui/moi";

/// The SMART discovery document, served at the root and under `/fhir`.
pub const SMART_CONFIGURATION: &str = "/.well-known/smart-configuration";

/// Whether `path` is one of the operators' (health, readiness, metrics): they answer in their
/// own JSON or text and say themselves how they may be cached.
pub fn is_operators(path: &str) -> bool {
    matches!(path, HEALTH | READY | METRICS)
}

/// Whether `path` is one of the page's (served without credentials: the page asks for them).
/// Exactly the page's routes: nothing else under these prefixes is let through unauthenticated.
pub fn is_page(path: &str) -> bool {
    let one_segment = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    };
    matches!(path, SEARCH | SCRIPT_PATH | STYLE_PATH | ICON_PATH | LABELS)
        || one_segment("/professionnels/")
        || one_segment("/etablissements/")
}

/// Whether `path` is one of CodeSystem's (`/fhir/CodeSystem`, `/fhir/CodeSystem/{id}`, and
/// `$lookup` on the type or an instance): terminology, open like the CapabilityStatement.
/// Exactly those routes' shapes: a segment more, or an empty one, is not.
pub fn is_terminology(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/fhir/CodeSystem") else {
        return false;
    };
    let segment = |s: &str| !s.is_empty() && !s.contains('/');
    match rest.strip_prefix('/') {
        None => rest.is_empty(),
        Some(rest) => match rest.split_once('/') {
            None => segment(rest),
            Some((id, "$lookup")) => segment(id),
            Some(_) => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{is_page, is_terminology};

    #[test]
    fn only_codesystem_routes_are_terminology_paths() {
        for path in [
            "/fhir/CodeSystem",
            "/fhir/CodeSystem/$lookup",
            "/fhir/CodeSystem/TRE-R22-GenreActivite",
            "/fhir/CodeSystem/TRE-R22-GenreActivite/$lookup",
        ] {
            assert!(is_terminology(path), "{path}");
        }
        for path in [
            "/fhir/CodeSystemX",
            "/fhir/CodeSystem/",
            "/fhir/CodeSystem/x/_history",
            "/fhir/CodeSystem/x/../../Practitioner",
            "/fhir/Practitioner",
        ] {
            assert!(!is_terminology(path), "{path}");
        }
    }

    #[test]
    fn only_the_page_routes_are_page_paths() {
        for path in [
            "/",
            "/ui/app.js",
            "/ui/labels.json",
            "/professionnels/pp-1-10",
            "/etablissements/eg-1",
        ] {
            assert!(is_page(path), "{path}");
        }
        for path in [
            "/fhir/Practitioner",
            "/ui/",
            "/ui/other",
            "/professionnels/",
            "/professionnels/a/b",
            "/etablissements/x/../../fhir/Practitioner",
            "//",
        ] {
            assert!(!is_page(path), "{path}");
        }
    }
}
