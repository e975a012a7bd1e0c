//! A room's tags from its `m.tag` room account data.

use quotient_api::RoomId;
use serde_json::Value;

use crate::error::Result;
use crate::store::Store;

/// One tag of a room (`m.favourite`, `m.lowpriority`, `u.work`, …).
#[derive(Clone, Debug, PartialEq)]
pub struct RoomTag {
    /// The tag's name.
    pub name: String,
    /// Its `order` (0 to 1, lower first), when set and a number.
    pub order: Option<f64>,
}

impl Store {
    /// A room's tags from its stored `m.tag` account data, by name; none
    /// for an unknown room or one without tags. An `order` that is not a
    /// number counts as unset; a tag whose info is not an object is kept
    /// with no order.
    pub fn room_tags(&self, room_id: &RoomId) -> Result<Vec<RoomTag>> {
        let Some(event) = self.room_account_data(room_id, "m.tag")? else {
            return Ok(Vec::new());
        };
        let Some(tags) = event
            .get("content")
            .and_then(|c| c.get("tags"))
            .and_then(Value::as_object)
        else {
            return Ok(Vec::new());
        };
        let mut out: Vec<RoomTag> = tags
            .iter()
            .map(|(name, info)| RoomTag {
                name: name.clone(),
                order: info.get("order").and_then(Value::as_f64),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
