//! The FHIR vocabulary every layer shares: the resource types served, their top-level
//! elements, and logical ids.

mod id;
pub mod node;
mod resource_type;
pub mod xml;
pub mod xml_read;

pub use id::{FhirId, InvalidId, short_hash};
pub use resource_type::{Element, ResourceType, UnsupportedType};
