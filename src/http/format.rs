//! Which format a client asked for (`_format`, else `Accept`), and the middleware that answers
//! FHIR XML when it asked for XML: every FHIR response is written as JSON by its handler and,
//! for such a client, rewritten here (`fhir::xml`), OperationOutcomes included.

use actix_web::HttpRequest;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

use super::error::ApiError;
use super::media::{FHIR_JSON, FHIR_XML};
use crate::search::shared_params::Format;

/// The format to answer in: `_format` wins over `Accept`; in `Accept`, the supported type with
/// the highest `q` (the first listed among equals). 406 when nothing asked for is spoken.
pub fn negotiate(req: &HttpRequest) -> Result<Format, ApiError> {
    let format_parameter = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == "_format")
        .map(|(_, value)| value.into_owned());
    if let Some(value) = format_parameter {
        return Format::from_media_type(&value).ok_or_else(|| {
            ApiError::NotAcceptable(format!(
                "_format={value} is not available: this server speaks FHIR JSON (_format=json) and FHIR XML (_format=xml)"
            ))
        });
    }
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|a| !a.trim().is_empty())
    else {
        return Ok(Format::Json);
    };
    let mut best: Option<(f32, Format)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("");
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if let Some(format) = Format::from_media_type(media)
            && quality > 0.0
            && best.is_none_or(|(q, _)| quality > q)
        {
            best = Some((quality, format));
        }
    }
    best.map(|(_, format)| format).ok_or_else(|| {
        ApiError::NotAcceptable(format!(
            "cannot answer in `{accept}`: this server speaks FHIR JSON (application/fhir+json) and FHIR XML (application/fhir+xml)"
        ))
    })
}

/// Rewrites the FHIR JSON answer of a client that asked for XML as FHIR XML.
pub async fn respond_in_kind(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let wants_xml = matches!(negotiate(req.request()), Ok(Format::Xml));
    let response = next.call(req).await?.map_into_boxed_body();
    let is_fhir_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == HeaderValue::from_static(FHIR_JSON));
    if !wants_xml || !is_fhir_json {
        return Ok(response);
    }
    let (request, response) = response.into_parts();
    let (mut head, body) = response.into_parts();
    head.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_XML));
    let json = actix_web::body::to_bytes(body).await.map_err(|_| {
        actix_web::error::ErrorInternalServerError("the response body could not be read")
    })?;
    if json.is_empty() {
        // HEAD, 304: headers only.
        return Ok(ServiceResponse::new(
            request,
            head.set_body(BoxBody::new(json)),
        ));
    }
    // Off the HTTP workers: a page of a hundred resources takes milliseconds to rewrite.
    let written = actix_web::web::block(move || crate::fhir::xml::from_json(&json))
        .await
        .map_err(|_| crate::fhir::xml::XmlError::stopped());
    match written.and_then(|xml| xml) {
        Ok(xml) => Ok(ServiceResponse::new(
            request,
            head.set_body(BoxBody::new(xml)),
        )),
        Err(e) => {
            tracing::error!("{e}");
            let outcome = ApiError::Unavailable(
                "the answer could not be written as XML; ask for JSON (_format=json)".into(),
            );
            Ok(ServiceResponse::new(
                request,
                actix_web::ResponseError::error_response(&outcome),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn negotiated(query: &str, accept: Option<&str>) -> Result<Format, ApiError> {
        let mut request = TestRequest::get().uri(&format!("/fhir/metadata{query}"));
        if let Some(accept) = accept {
            request = request.insert_header((header::ACCEPT, accept));
        }
        negotiate(&request.to_http_request())
    }

    #[test]
    fn format_parameter_then_accept_with_quality() {
        assert_eq!(negotiated("", None).unwrap(), Format::Json);
        assert_eq!(negotiated("?_format=xml", None).unwrap(), Format::Xml);
        assert_eq!(
            negotiated("?_format=application/fhir+xml", None).unwrap(),
            Format::Xml
        );
        assert_eq!(
            negotiated(
                "?_format=application/fhir%2Bjson",
                Some("application/fhir+xml")
            )
            .unwrap(),
            Format::Json
        );
        assert_eq!(
            negotiated("", Some("application/fhir+xml")).unwrap(),
            Format::Xml
        );
        assert_eq!(
            negotiated(
                "",
                Some("application/fhir+xml;q=0.8, application/fhir+json")
            )
            .unwrap(),
            Format::Json
        );
        assert_eq!(
            negotiated("", Some("application/fhir+json;q=0.5, text/xml;q=0.9")).unwrap(),
            Format::Xml
        );
        assert_eq!(
            negotiated("", Some("text/html, */*;q=0.1")).unwrap(),
            Format::Json
        );
        assert!(negotiated("?_format=turtle", None).is_err());
        assert!(negotiated("", Some("text/html")).is_err());
        assert!(negotiated("", Some("application/fhir+xml;q=0")).is_err());
    }
}
