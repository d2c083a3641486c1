//! The crate's one error type.

use std::fmt;

use thiserror::Error;

/// The synaptic variable a rule updates: `dw` the weight, `dd` the delay
/// (Lava's `tag_2`), `dt` the tag (Lava's `tag_1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `dw`: the weight.
    Dw,
    /// `dd`: the delay variable (Lava's `tag_2`, learned but delaying nothing).
    Dd,
    /// `dt`: the tag (Lava's `tag_1`), often an eligibility trace.
    Dt,
}

impl Target {
    /// The three targets in the order Lava evaluates them.
    pub const ALL: [Target; 3] = [Target::Dw, Target::Dd, Target::Dt];

    pub(crate) fn index(self) -> usize {
        match self {
            Target::Dw => 0,
            Target::Dd => 1,
            Target::Dt => 2,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Dw => "dw",
            Target::Dd => "dd",
            Target::Dt => "dt",
        })
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LearningError {
    /// A rule string that Lava's parser rejects, or that Neurite rejects
    /// where Lava would silently read something else (see the crate docs).
    #[error("{target} rule, byte {offset} (`{text}`): {reason}")]
    Rule {
        /// The rule the string belongs to.
        target: Target,
        /// Byte offset of the offending term in the string as given.
        offset: usize,
        /// The offending term, as written.
        text: String,
        /// What is wrong with it.
        reason: RuleErrorKind,
    },
    /// None of `dw`, `dd` and `dt` was given.
    #[error("no learning rule: give at least one of dw, dd and dt")]
    NoRule,
    /// A parameter outside the range the engine accepts.
    #[error("learning parameter {name} = {value}: {reason}")]
    Parameter {
        /// The parameter, as the rule specification names it.
        name: &'static str,
        /// Its value, as given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Synapse arrays handed to [`apply`](crate::apply) that do not fit
    /// together or do not fit the traces.
    #[error("synapse layout: {0}")]
    Layout(String),
}

/// Why a rule string is refused. The first group mirrors what Lava's parser
/// rejects; the second group, marked *quirk*, are strings Lava accepts but
/// reads in a surprising way, which Neurite refuses instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RuleErrorKind {
    /// The rule is empty (or only spaces).
    #[error("the rule is empty")]
    Empty,
    /// No symbol of the grammar starts here.
    #[error(
        "unexpected character {0:?}: expected + - *, x0 y0 uk, x1 x2 y1 y2 y3 w d t, ( ), sgn( ) or a number"
    )]
    UnexpectedCharacter(char),
    /// A character outside ASCII.
    #[error("non-ASCII character {0:?}: rules are written in ASCII")]
    NonAscii(char),
    /// A bracket that is never closed.
    #[error("bracket never closed")]
    UnclosedBracket,
    /// `()`, `sgn()` or a bracket holding only an operator.
    #[error("empty bracket")]
    EmptyBracket,
    /// A bracket that is neither a variable, a literal nor `v ± c`.
    #[error("a bracket holds a variable, a literal, or a variable plus or minus a literal")]
    BracketForm,
    /// A number written with leading zeros (Python refuses `07`).
    #[error("leading zeros in a number")]
    LeadingZero,
    /// A number too large to be meaningful here.
    #[error("number too large")]
    LiteralTooLarge,
    /// A product with none of x0, y0, uk.
    #[error("a product needs a dependency: x0, y0 or uk")]
    NoDependency,
    /// A uk after x0 or y0 in the same product.
    #[error("uk must be the first dependency of its product")]
    UkAfterDependency,
    /// Two different k in uk terms (across dw, dd and dt too).
    #[error("u{found} where u{expected} is used elsewhere: all uk terms share one k")]
    MixedDecimation {
        /// The k seen first.
        expected: u8,
        /// The k found here.
        found: u8,
    },
    /// uk as a bracketed factor, e.g. `(u1 + 1)`.
    #[error("uk cannot be a factor")]
    UkFactor,
    /// The scale's mantissa, once powers of two are moved into the exponent,
    /// lies outside −8..=7.
    #[error("scale mantissa {0} outside -8..=7 (after moving factors of two into the exponent)")]
    MantissaOutOfRange(i128),
    /// The scale's exponent lies outside −7..=8.
    #[error("scale exponent {0} outside -7..=8")]
    ExponentOutOfRange(i64),
    /// `sgn()` of something other than w, d or t.
    #[error("sgn() applies to w, d or t only")]
    SgnVariable,
    /// A negated variable inside `sgn()`.
    #[error("the variable inside sgn() cannot be negated")]
    SgnNegated,
    /// *Quirk:* a space inside a number or a name. Lava deletes every space
    /// before reading, so `1 6` would be 16 and `u 1` would be u1 (whose k
    /// Lava then fails to see, so the product never fires).
    #[error(
        "space inside a number or a name: Lava deletes spaces before reading, so this would read as `{0}`"
    )]
    SpaceInsideToken(String),
    /// *Quirk:* `u` followed by two or more digits. Lava reads one digit, so
    /// `u10` is u1 times the literal 0: a product that never changes anything.
    #[error("uk takes one digit: Lava would read `u{0}` as u{1} times the literal {2}")]
    MultiDigitUk(String, char, String),
    /// *Quirk:* a negated variable alone in a bracket, `(-x1)` or `sgn(-w)`:
    /// Lava drops the minus.
    #[error(
        "Lava drops the minus of a lone negated variable in brackets; put the sign in front of the product"
    )]
    NegatedBracketVariable,
    /// *Quirk:* a bracket holding only x0, y0, uk or another bracket: Lava
    /// silently leaves the factor out.
    #[error("Lava silently leaves out a bracket holding only x0, y0, uk or another bracket")]
    IgnoredBracket,
    /// *Quirk:* more than `v ± c` in a bracket: Lava reads the first four
    /// symbols and silently drops the rest.
    #[error("Lava reads only `v + c` or `v - c` in a bracket and silently drops the rest")]
    ExtraBracketSymbols,
    /// *Quirk:* something other than `+` or `-` where a bracket joins its
    /// variable and constant: Lava takes anything but `-` for `+`, so
    /// `(x1*3)` would be x1 + 3.
    #[error("only + or - may join a bracket's variable and constant; Lava would read this as +")]
    BracketOperator,
}
