//! Fibery's date range values as Rust types, in the exact wire forms:
//! `{"start": "2026-03-15", "end": "2026-03-20"}` for `fibery/date-range` and
//! `{"start": "2020-01-22T01:02:23.977Z", "end": ..}` for `fibery/date-time-range`.
//!
//! Plain `time::Date` and `time::OffsetDateTime` fields of a derived struct are written as
//! `2026-03-15` and `2020-01-22T01:02:23.977Z` by the derive itself (see [`crate::value`]).
//!
//! ```
//! use fibery_core::dates::DateRange;
//! use time::macros::date;
//!
//! let r = DateRange::new(date!(2026 - 03 - 15), date!(2026 - 03 - 20));
//! let wire = serde_json::to_value(r).unwrap();
//! assert_eq!(wire, serde_json::json!({"start": "2026-03-15", "end": "2026-03-20"}));
//! assert_eq!(serde_json::from_value::<DateRange>(wire).unwrap(), r);
//! ```

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, OffsetDateTime};

use crate::value::{format_date, format_date_time, parse_date, parse_date_time};

/// A `fibery/date-range` value: from `start` to `end` (inclusive days, as Fibery shows them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateRange {
    /// The first day.
    pub start: Date,
    /// The last day.
    pub end: Date,
}

/// A `fibery/date-time-range` value, from `start` to `end` (normalized to UTC when read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTimeRange {
    /// The start.
    pub start: OffsetDateTime,
    /// The end.
    pub end: OffsetDateTime,
}

impl DateRange {
    /// The range from `start` to `end`.
    pub fn new(start: Date, end: Date) -> Self {
        DateRange { start, end }
    }
}

impl DateTimeRange {
    /// The range from `start` to `end`.
    pub fn new(start: OffsetDateTime, end: OffsetDateTime) -> Self {
        DateTimeRange { start, end }
    }
}

/// The wire form of both ranges: two strings.
#[derive(Serialize, Deserialize)]
struct Wire {
    start: String,
    end: String,
}

/// Serializes and deserializes a range type through [`Wire`], with the functions that write
/// and read one end.
macro_rules! range_serde {
    ($range:ident, $format:ident, $parse:ident) => {
        impl Serialize for $range {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let (start, end) = ($format(self.start), $format(self.end));
                Wire { start, end }.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $range {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let w = Wire::deserialize(d)?;
                let end = |s: &str| $parse(s).map_err(serde::de::Error::custom);
                Ok($range::new(end(&w.start)?, end(&w.end)?))
            }
        }
    };
}

range_serde!(DateRange, format_date, parse_day);
range_serde!(DateTimeRange, format_date_time, parse_date_time);

/// A date as Fibery writes it (`2026-03-15`), or the date of a full date-time (some clients
/// send those for date fields).
pub(crate) fn parse_day(s: &str) -> Result<Date, crate::value::ValueError> {
    parse_date(s).or_else(|e| parse_date_time(s).map(|dt| dt.date()).map_err(|_| e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::{date, datetime};

    #[test]
    fn date_time_ranges_use_the_exact_wire_form() {
        let r = DateTimeRange::new(
            datetime!(2020-01-22 03:02:23.9771 +02:00),
            datetime!(2020-01-23 00:00 UTC),
        );
        let wire = serde_json::to_value(r).unwrap();
        assert_eq!(
            wire,
            json!({"start": "2020-01-22T01:02:23.977Z", "end": "2020-01-23T00:00:00.000Z"})
        );
        let back: DateTimeRange = serde_json::from_value(wire).unwrap();
        assert_eq!(back.end, r.end);
        assert!(
            serde_json::from_value::<DateTimeRange>(json!({"start": "x", "end": "y"})).is_err()
        );
    }

    #[test]
    fn days_read_dates_and_date_times() {
        assert_eq!(parse_day("2026-03-15").unwrap(), date!(2026 - 03 - 15));
        assert_eq!(
            parse_day("2026-03-15T10:00:00Z").unwrap(),
            date!(2026 - 03 - 15)
        );
        assert!(parse_day("15/03/2026").is_err());
    }
}
