//! Test support for fibery-derive: a stand-in for `fibery_client::__private` so the tests
//! need neither the HTTP stack nor fibery-client.
//!
//! Test structs use `#[fibery(crate = "fibery_derive_tests")]`.

#[doc(hidden)]
pub mod __private {
    pub use ::fibery_core;
    pub use ::fibery_derive;
    pub use ::serde;
    pub use ::serde_json;
    pub use ::time;
    pub use ::uuid;
    pub use ::validator;
}

pub mod fixtures;

pub use fibery_core::entity::{DocFormat, EncodedEntity, EntityRef, FiberyEntity};
pub use fibery_derive::{FiberyEntity, FiberyEnum};
