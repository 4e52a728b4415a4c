//! Exact money: integer ten-thousandths of the currency unit, never floats.
//!
//! Four decimal places let a percentage payout of a two-decimal amount be kept exactly
//! (10 % of 19.99 is 1.999); reports round only when they display.

use std::fmt;

/// An amount of money in ten-thousandths of the currency unit (`12.5` is `Money(125_000)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Money(pub i64);

const SCALE: i64 = 10_000;
/// Largest accepted amount: a trillion units, far beyond any order, far below i64 overflow.
const MAX_UNITS: i64 = 1_000_000_000_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("must be a decimal number like 49.90")]
    Malformed,
    #[error("has more than 4 decimal places")]
    TooPrecise,
    #[error("is too large")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// Parse `"49.9"`, `"49.90"`, `"-3"`, `"0.0001"`. No exponents, no thousands separators.
    pub fn parse(s: &str) -> Result<Money, MoneyError> {
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|c| c.is_ascii_digit())
            || !frac.bytes().all(|c| c.is_ascii_digit())
            || (digits.contains('.') && frac.is_empty())
        {
            return Err(MoneyError::Malformed);
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 4 {
            return Err(MoneyError::TooPrecise);
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > 13 {
            return Err(MoneyError::TooLarge);
        }
        let units: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| MoneyError::TooLarge)? };
        if units > MAX_UNITS {
            return Err(MoneyError::TooLarge);
        }
        let mut frac_value: i64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| MoneyError::Malformed)? };
        for _ in frac.len()..4 {
            frac_value *= 10;
        }
        let value = units * SCALE + frac_value;
        Ok(Money(if negative { -value } else { value }))
    }

    /// `percent` (itself a `Money`-scaled number: 12.5 % is `Money(125_000)`) of this amount,
    /// rounded half away from zero to four decimals.
    pub fn percent(self, percent: Money) -> Money {
        let product = self.0 as i128 * percent.0 as i128; // scale 10^8 · percent
        let divisor = (SCALE as i128) * 100;
        let rounded = if product >= 0 { (product + divisor / 2) / divisor } else { (product - divisor / 2) / divisor };
        Money(rounded.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }

    pub fn saturating_add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    pub fn saturating_sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Money {
    /// At least two decimals, more only when they are not zero: `49.90`, `1.999`, `-0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let units = abs / SCALE as u64;
        let frac = abs % SCALE as u64;
        if frac.is_multiple_of(100) {
            write!(f, "{sign}{units}.{:02}", frac / 100)
        } else if frac.is_multiple_of(10) {
            write!(f, "{sign}{units}.{:03}", frac / 10)
        } else {
            write!(f, "{sign}{units}.{frac:04}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_exactly() {
        for (text, value, shown) in [
            ("49.90", 499_000, "49.90"),
            ("49.9", 499_000, "49.90"),
            ("0.0001", 1, "0.0001"),
            ("1.999", 19_990, "1.999"),
            ("-3", -30_000, "-3.00"),
            ("+7.5", 75_000, "7.50"),
            (".5", 5_000, "0.50"),
            ("0010.10", 101_000, "10.10"),
            ("1.23000", 12_300, "1.23"),
        ] {
            let m = Money::parse(text).unwrap();
            assert_eq!(m, Money(value), "{text}");
            assert_eq!(m.to_string(), shown, "{text}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_plain_decimal() {
        for text in ["", "-", ".", "1.", "1e3", "1,5", "NaN", "inf", " 1", "1 ", "0x10", "--1", "1.2.3"] {
            assert_eq!(Money::parse(text), Err(MoneyError::Malformed), "{text:?}");
        }
        assert_eq!(Money::parse("0.00001"), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse("99999999999999"), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse(&"9".repeat(40)), Err(MoneyError::TooLarge));
    }

    #[test]
    fn percentage_rounds_half_away_from_zero() {
        let amount = Money::parse("19.99").unwrap();
        assert_eq!(amount.percent(Money::parse("10").unwrap()).to_string(), "1.999");
        assert_eq!(Money::parse("0.0005").unwrap().percent(Money::parse("10").unwrap()), Money(1));
        assert_eq!(Money::parse("-0.0005").unwrap().percent(Money::parse("10").unwrap()), Money(-1));
        assert_eq!(Money::parse("200").unwrap().percent(Money::parse("12.5").unwrap()).to_string(), "25.00");
    }
}
