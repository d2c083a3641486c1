//! The rule language: Lava's `dw`/`dd`/`dt` strings read into sums of
//! products, as `symbolic_equation.py` and `product_series.py` read them.
//!
//! Reading happens in two passes, like Lava's. The tokenizer works on the
//! string with its spaces deleted (keeping each character's offset in the
//! string as given, for errors) and reads brackets recursively. The second
//! pass splits the tokens into products at top-level `+` and `-` and folds
//! each product into a dependency, a scale `m·2^e` and factors.

use std::fmt;

use crate::error::{LearningError, RuleErrorKind, Target};

/// What gates a product: it is zero unless its dependency is 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dependency {
    /// The pre-synaptic neuron spiked in the epoch.
    X0,
    /// The post-synaptic neuron spiked in the epoch.
    Y0,
    /// `uk`: 1 in every 2^k-th epoch (k is the rule's
    /// [`decimation`](Rule::decimation)).
    U,
}

/// A state variable a factor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variable {
    /// x0 as a factor (after another dependency): 1 if the pre neuron spiked.
    X0,
    /// y0 as a factor: 1 if the post neuron spiked.
    Y0,
    /// First pre-synaptic trace.
    X1,
    /// Second pre-synaptic trace.
    X2,
    /// First post-synaptic trace.
    Y1,
    /// Second post-synaptic trace.
    Y2,
    /// Third post-synaptic trace.
    Y3,
    /// The weight.
    W,
    /// The delay variable (Lava's `tag_2`).
    D,
    /// The tag (Lava's `tag_1`).
    T,
}

impl Variable {
    /// Width in bits Lava gives the factor (`constants.py`): it sets the
    /// factor's clipping range −2^W..2^W−1 and enters the product's shift.
    pub fn width(self) -> u32 {
        match self {
            Variable::X0 | Variable::Y0 => 1,
            Variable::X1 | Variable::X2 | Variable::Y1 | Variable::Y2 | Variable::Y3 => 7,
            Variable::W | Variable::D | Variable::T => 9,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Variable::X0 => "x0",
            Variable::Y0 => "y0",
            Variable::X1 => "x1",
            Variable::X2 => "x2",
            Variable::Y1 => "y1",
            Variable::Y2 => "y2",
            Variable::Y3 => "y3",
            Variable::W => "w",
            Variable::D => "d",
            Variable::T => "t",
        }
    }
}

/// The constant a factor adds to its variable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Constant {
    /// An integer (`(x1 - 4)`). Constants beyond ±2^40 are kept at ±2^40:
    /// every factor is clipped to at most 9 bits, so nothing changes.
    Int(i64),
    /// A constant with a fractional part (`(x1 + 2^-1)`). Lava adds it in
    /// double precision and truncates the sum toward zero (or takes its
    /// sign in `sgn()`), and so does the engine.
    Float(f64),
}

/// One factor of a product: `v`, `(v + c)` or `sgn(v + c)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Factor {
    pub(crate) var: Variable,
    pub(crate) constant: Option<Constant>,
    pub(crate) sgn: bool,
}

impl Factor {
    /// The variable read.
    pub fn variable(&self) -> Variable {
        self.var
    }

    /// The constant added, if the factor was written with one.
    pub fn constant(&self) -> Option<Constant> {
        self.constant
    }

    /// Whether the factor is `sgn(v + c)`.
    pub fn is_sgn(&self) -> bool {
        self.sgn
    }
}

/// One product: `m·2^e · dependency · factors…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub(crate) dependency: Dependency,
    pub(crate) mantissa: i8,
    pub(crate) exponent: i8,
    pub(crate) factors: Vec<Factor>,
    pub(crate) shift: u32,
}

impl Product {
    /// The dependency.
    pub fn dependency(&self) -> Dependency {
        self.dependency
    }

    /// Scale mantissa, −8..=7.
    pub fn mantissa(&self) -> i8 {
        self.mantissa
    }

    /// Scale exponent, −7..=8 (Lava stores it biased by 7).
    pub fn exponent(&self) -> i8 {
        self.exponent
    }

    /// The factors, in the order written.
    pub fn factors(&self) -> &[Factor] {
        &self.factors
    }

    /// The right shift applied to the raw product: the factors' widths plus
    /// the mantissa's 4 bits, beyond the accumulator's 15.
    pub fn shift(&self) -> u32 {
        self.shift
    }
}

/// A parsed rule: a sum of products.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub(crate) target: Target,
    pub(crate) products: Vec<Product>,
    pub(crate) decimation: Option<u8>,
}

impl Rule {
    /// Reads one rule string. Across the rules of one profile all uk terms
    /// must share k; [`LearningProfile::compile`](crate::LearningProfile::compile)
    /// checks that.
    pub fn parse(target: Target, text: &str) -> Result<Rule, LearningError> {
        let mut decimation = None;
        let products = parse_products(target, text, &mut decimation)?;
        Ok(Rule {
            target,
            products,
            decimation: decimation.map(|(k, _)| k),
        })
    }

    /// The variable the rule updates.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The products, in the order written.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// k of the rule's uk terms, if it has any.
    pub fn decimation(&self) -> Option<u8> {
        self.decimation
    }
}

impl fmt::Display for Constant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constant::Int(c) => write!(f, "{c}"),
            Constant::Float(c) => {
                // Always with a negative exponent, so it reads back as a
                // fractional constant.
                let (mantissa, exponent) = dyadic(*c);
                let bits = i64::from(64 - mantissa.leading_zeros());
                if exponent < 0 {
                    write!(f, "{mantissa}*2^{exponent}")
                } else if exponent + 1 + bits <= 128 {
                    let mantissa = u128::from(mantissa) << (exponent + 1);
                    write!(f, "{mantissa}*2^-1")
                } else {
                    write!(f, "{c:?}")
                }
            }
        }
    }
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = match self.constant {
            None => self.var.name().to_string(),
            Some(c) => {
                let negative = match c {
                    Constant::Int(c) => c < 0,
                    Constant::Float(c) => c.is_sign_negative(),
                };
                let magnitude = match c {
                    Constant::Int(c) => Constant::Int(c.saturating_abs()),
                    Constant::Float(c) => Constant::Float(c.abs()),
                };
                let op = if negative { '-' } else { '+' };
                format!("{} {op} {magnitude}", self.var.name())
            }
        };
        if self.sgn {
            write!(f, "sgn({inner})")
        } else if self.constant.is_some() {
            write!(f, "({inner})")
        } else {
            f.write_str(&inner)
        }
    }
}

/// |c| as `m·2^e` with m odd (or zero), exactly.
fn dyadic(c: f64) -> (u64, i64) {
    let bits = c.abs().to_bits();
    let biased = (bits >> 52) as i64;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mut mantissa, mut exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    if mantissa == 0 {
        return (0, -1);
    }
    let zeros = mantissa.trailing_zeros();
    mantissa >>= zeros;
    exponent += i64::from(zeros);
    (mantissa, exponent)
}

/// Writes the rule back in Lava's syntax, one canonical form per rule:
/// `m*2^e*dependency*factors`, reading back to the same rule.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.products.iter().enumerate() {
            let sign = if p.mantissa < 0 { "-" } else { "+" };
            if i > 0 {
                write!(f, " {sign} ")?;
            } else if p.mantissa < 0 {
                f.write_str("-")?;
            }
            write!(f, "{}*2^{}*", p.mantissa.unsigned_abs(), p.exponent)?;
            match p.dependency {
                Dependency::X0 => f.write_str("x0")?,
                Dependency::Y0 => f.write_str("y0")?,
                Dependency::U => write!(f, "u{}", self.decimation.unwrap_or(0))?,
            }
            for factor in &p.factors {
                write!(f, "*{factor}")?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

/// Positions are indices into the string without spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

/// A literal `m*2^e`, `2^e` or `m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Literal {
    mantissa: i128,
    exponent: i64,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Plus,
    Minus,
    Star,
    X0,
    Y0,
    U(u8),
    Var(Variable),
    Bracket(Vec<Token>),
    Sgn(Vec<Token>),
    Literal(Literal),
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    tok: Tok,
    span: Span,
}

impl Tok {
    fn is_operator(&self) -> bool {
        matches!(self, Tok::Plus | Tok::Minus | Tok::Star)
    }
}

/// The rule string with its spaces deleted, and where each byte came from.
struct Source<'a> {
    target: Target,
    text: &'a str,
    bytes: Vec<u8>,
    origin: Vec<usize>,
}

impl Source<'_> {
    fn error(&self, span: Span, reason: RuleErrorKind) -> LearningError {
        let (offset, end) = if self.origin.is_empty() {
            (0, self.text.len())
        } else {
            let start = span.start.min(self.origin.len() - 1);
            let last = span.end.max(span.start + 1).min(self.origin.len()) - 1;
            (self.origin[start], self.origin[last] + 1)
        };
        LearningError::Rule {
            target: self.target,
            offset,
            text: self.text.get(offset..end).unwrap_or_default().to_string(),
            reason,
        }
    }

    fn at(&self, i: usize, end: usize) -> Option<u8> {
        if i < end {
            self.bytes.get(i).copied()
        } else {
            None
        }
    }

    fn starts_with(&self, i: usize, end: usize, s: &[u8]) -> bool {
        i + s.len() <= end && &self.bytes[i..i + s.len()] == s
    }

    /// Length of the run of ASCII digits at `i`.
    fn digits(&self, i: usize, end: usize) -> usize {
        let mut n = 0;
        while self.at(i + n, end).is_some_and(|b| b.is_ascii_digit()) {
            n += 1;
        }
        n
    }

    /// Reads `start..end` into tokens, brackets recursively.
    fn tokenize(&self, start: usize, end: usize) -> Result<Vec<Token>, LearningError> {
        let mut tokens = Vec::new();
        let mut i = start;
        while i < end {
            let b = self.bytes[i];
            let (tok, len) = match b {
                b'+' => (Tok::Plus, 1),
                b'-' => (Tok::Minus, 1),
                b'*' => (Tok::Star, 1),
                _ if self.starts_with(i, end, b"x0") => (Tok::X0, 2),
                _ if self.starts_with(i, end, b"y0") => (Tok::Y0, 2),
                b'u' if self.at(i + 1, end).is_some_and(|d| d.is_ascii_digit()) => {
                    (Tok::U(self.bytes[i + 1] - b'0'), 2)
                }
                _ if self.starts_with(i, end, b"x1") => (Tok::Var(Variable::X1), 2),
                _ if self.starts_with(i, end, b"x2") => (Tok::Var(Variable::X2), 2),
                _ if self.starts_with(i, end, b"y1") => (Tok::Var(Variable::Y1), 2),
                _ if self.starts_with(i, end, b"y2") => (Tok::Var(Variable::Y2), 2),
                _ if self.starts_with(i, end, b"y3") => (Tok::Var(Variable::Y3), 2),
                b'w' => (Tok::Var(Variable::W), 1),
                b'd' => (Tok::Var(Variable::D), 1),
                b't' => (Tok::Var(Variable::T), 1),
                b'(' => {
                    let close = self.closing(i, end)?;
                    let inner = self.bracket_body(i, i + 1, close)?;
                    (Tok::Bracket(inner), close + 1 - i)
                }
                _ if self.starts_with(i, end, b"sgn(") => {
                    let close = self.closing(i + 3, end)?;
                    let inner = self.bracket_body(i, i + 4, close)?;
                    (Tok::Sgn(inner), close + 1 - i)
                }
                b'0'..=b'9' => {
                    let (literal, len) = self.literal(i, end)?;
                    (Tok::Literal(literal), len)
                }
                _ => {
                    let span = Span {
                        start: i,
                        end: i + 1,
                    };
                    return Err(self.error(span, RuleErrorKind::UnexpectedCharacter(b as char)));
                }
            };
            let span = Span {
                start: i,
                end: i + len,
            };
            self.check_no_inner_space(&tok, span)?;
            if let Tok::U(_) = tok {
                self.check_one_digit_uk(span, end)?;
            }
            tokens.push(Token { tok, span });
            i += len;
        }
        Ok(tokens)
    }

    fn bracket_body(
        &self,
        open: usize,
        start: usize,
        close: usize,
    ) -> Result<Vec<Token>, LearningError> {
        if start == close {
            let span = Span {
                start: open,
                end: close + 1,
            };
            return Err(self.error(span, RuleErrorKind::EmptyBracket));
        }
        self.tokenize(start, close)
    }

    /// Index of the bracket closing the one at `open`, searching up to `end`.
    fn closing(&self, open: usize, end: usize) -> Result<usize, LearningError> {
        let mut depth = 0usize;
        for i in open..end {
            match self.bytes[i] {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(i);
                    }
                }
                _ => {}
            }
        }
        let span = Span {
            start: open,
            end: open + 1,
        };
        Err(self.error(span, RuleErrorKind::UnclosedBracket))
    }

    /// A literal at `i` (a digit): `m*2^e`, then `2^e`, then `m`, in Lava's
    /// order of trial.
    fn literal(&self, i: usize, end: usize) -> Result<(Literal, usize), LearningError> {
        let m_len = self.digits(i, end);
        // m*2^e
        if self.starts_with(i + m_len, end, b"*2^")
            && let Some(e_len) = self.signed_digits(i + m_len + 3, end)
        {
            let mantissa = self.number(i, i + m_len)?;
            let exponent = self.exponent(i + m_len + 3, i + m_len + 3 + e_len)?;
            return Ok((Literal { mantissa, exponent }, m_len + 3 + e_len));
        }
        // 2^e
        if self.starts_with(i, end, b"2^")
            && let Some(e_len) = self.signed_digits(i + 2, end)
        {
            let exponent = self.exponent(i + 2, i + 2 + e_len)?;
            let literal = Literal {
                mantissa: 1,
                exponent,
            };
            return Ok((literal, 2 + e_len));
        }
        let mantissa = self.number(i, i + m_len)?;
        Ok((
            Literal {
                mantissa,
                exponent: 0,
            },
            m_len,
        ))
    }

    /// Length of `[+-]?\d+` at `i`, if there is one.
    fn signed_digits(&self, i: usize, end: usize) -> Option<usize> {
        let sign = usize::from(matches!(self.at(i, end), Some(b'+' | b'-')));
        let n = self.digits(i + sign, end);
        (n > 0).then_some(sign + n)
    }

    /// A run of digits as Python's `literal_eval` reads it.
    fn number(&self, start: usize, end: usize) -> Result<i128, LearningError> {
        let span = Span { start, end };
        let digits = &self.bytes[start..end];
        if digits.len() > 1 && digits[0] == b'0' && digits.iter().any(|&d| d != b'0') {
            return Err(self.error(span, RuleErrorKind::LeadingZero));
        }
        digits.iter().try_fold(0i128, |n, &d| {
            n.checked_mul(10)
                .and_then(|n| n.checked_add(i128::from(d - b'0')))
                .ok_or_else(|| self.error(span, RuleErrorKind::LiteralTooLarge))
        })
    }

    fn exponent(&self, start: usize, end: usize) -> Result<i64, LearningError> {
        let negative = self.bytes[start] == b'-';
        let digits = if matches!(self.bytes[start], b'+' | b'-') {
            start + 1
        } else {
            start
        };
        let magnitude = self.number(digits, end)?;
        let value = if negative { -magnitude } else { magnitude };
        i64::try_from(value)
            .map_err(|_| self.error(Span { start, end }, RuleErrorKind::LiteralTooLarge))
    }

    /// Refuses a space between two letters or digits of one token: Lava
    /// would join them (see [`RuleErrorKind::SpaceInsideToken`]).
    fn check_no_inner_space(&self, tok: &Tok, span: Span) -> Result<(), LearningError> {
        // A bracket's own tokens were checked when read; only `sgn` remains.
        let end = match tok {
            Tok::Bracket(_) => return Ok(()),
            Tok::Sgn(_) => span.start + 3,
            _ => span.end,
        };
        for i in span.start..end.saturating_sub(1) {
            let joined = self.bytes[i].is_ascii_alphanumeric()
                && self.bytes[i + 1].is_ascii_alphanumeric()
                && self.origin[i + 1] != self.origin[i] + 1;
            if joined {
                let word = String::from_utf8_lossy(&self.bytes[span.start..end]).into_owned();
                return Err(self.error(
                    Span {
                        start: span.start,
                        end,
                    },
                    RuleErrorKind::SpaceInsideToken(word),
                ));
            }
        }
        Ok(())
    }

    /// Refuses `u` followed by two or more digits written together.
    fn check_one_digit_uk(&self, span: Span, end: usize) -> Result<(), LearningError> {
        let mut stop = span.end;
        while self.at(stop, end).is_some_and(|b| b.is_ascii_digit())
            && self.origin[stop] == self.origin[stop - 1] + 1
        {
            stop += 1;
        }
        if stop == span.end {
            return Ok(());
        }
        let digits = String::from_utf8_lossy(&self.bytes[span.start + 1..stop]).into_owned();
        let first = self.bytes[span.start + 1] as char;
        let rest = digits[1..].to_string();
        Err(self.error(
            Span {
                start: span.start,
                end: stop,
            },
            RuleErrorKind::MultiDigitUk(digits, first, rest),
        ))
    }
}

// ---------------------------------------------------------------------------
// Products
// ---------------------------------------------------------------------------

/// Reads a rule string into products. `decimation` carries the k of uk
/// terms seen so far (in this rule or in earlier ones of the same profile).
pub(crate) fn parse_products(
    target: Target,
    text: &str,
    decimation: &mut Option<(u8, Target)>,
) -> Result<Vec<Product>, LearningError> {
    let mut source = Source {
        target,
        text,
        bytes: Vec::with_capacity(text.len()),
        origin: Vec::with_capacity(text.len()),
    };
    for (offset, c) in text.char_indices() {
        if !c.is_ascii() {
            return Err(LearningError::Rule {
                target,
                offset,
                text: c.to_string(),
                reason: RuleErrorKind::NonAscii(c),
            });
        }
        // Lava deletes spaces, and only spaces, before reading.
        if c != ' ' {
            source.bytes.push(c as u8);
            source.origin.push(offset);
        }
    }
    if source.bytes.is_empty() {
        return Err(LearningError::Rule {
            target,
            offset: 0,
            text: text.to_string(),
            reason: RuleErrorKind::Empty,
        });
    }
    let tokens = source.tokenize(0, source.bytes.len())?;
    split_products(&tokens)
        .iter()
        .map(|product| build_product(&source, product, decimation))
        .collect()
}

/// Splits at top-level `+` and `-` (which stay with the product they
/// start); `*` only separates and is dropped.
fn split_products(tokens: &[Token]) -> Vec<Vec<&Token>> {
    let mut products = Vec::new();
    let mut current: Vec<&Token> = Vec::new();
    for token in tokens {
        match token.tok {
            Tok::Star => continue,
            Tok::Plus | Tok::Minus if !current.is_empty() => {
                products.push(std::mem::take(&mut current));
                current.push(token);
            }
            _ => current.push(token),
        }
    }
    products.push(current);
    products
}

/// Scale and factors gathered while reading one product.
struct ProductBuilder {
    dependency: Option<Dependency>,
    has_uk: bool,
    mantissa: i128,
    exponent: i64,
    factors: Vec<Factor>,
}

impl ProductBuilder {
    fn scale(&mut self, literal: Literal, sign: i128) -> Result<(), RuleErrorKind> {
        self.mantissa = self
            .mantissa
            .checked_mul(literal.mantissa)
            .and_then(|m| m.checked_mul(sign))
            .ok_or(RuleErrorKind::LiteralTooLarge)?;
        self.exponent = self
            .exponent
            .checked_add(literal.exponent)
            .ok_or(RuleErrorKind::LiteralTooLarge)?;
        Ok(())
    }
}

fn build_product(
    source: &Source<'_>,
    tokens: &[&Token],
    decimation: &mut Option<(u8, Target)>,
) -> Result<Product, LearningError> {
    let span = match (tokens.first(), tokens.last()) {
        (Some(first), Some(last)) => Span {
            start: first.span.start,
            end: last.span.end,
        },
        // Only reachable for a rule of nothing but `*`.
        _ => Span {
            start: 0,
            end: source.bytes.len(),
        },
    };
    let mut p = ProductBuilder {
        dependency: None,
        has_uk: false,
        mantissa: 1,
        exponent: 0,
        factors: Vec::new(),
    };
    for token in tokens {
        let fail = |reason| source.error(token.span, reason);
        match &token.tok {
            Tok::Plus | Tok::Star => {}
            Tok::Minus => {
                p.mantissa = p
                    .mantissa
                    .checked_neg()
                    .ok_or_else(|| fail(RuleErrorKind::LiteralTooLarge))?;
            }
            Tok::X0 | Tok::Y0 => {
                let (dependency, var) = if token.tok == Tok::X0 {
                    (Dependency::X0, Variable::X0)
                } else {
                    (Dependency::Y0, Variable::Y0)
                };
                if p.dependency.is_none() {
                    p.dependency = Some(dependency);
                } else {
                    p.factors.push(Factor {
                        var,
                        constant: None,
                        sgn: false,
                    });
                }
            }
            &Tok::U(k) => {
                match *decimation {
                    Some((expected, _)) if expected != k => {
                        return Err(fail(RuleErrorKind::MixedDecimation { expected, found: k }));
                    }
                    _ => *decimation = Some((k, source.target)),
                }
                if p.dependency.is_some() && !p.has_uk {
                    return Err(fail(RuleErrorKind::UkAfterDependency));
                }
                p.has_uk = true;
                p.dependency.get_or_insert(Dependency::U);
            }
            &Tok::Literal(literal) => p.scale(literal, 1).map_err(fail)?,
            &Tok::Var(var) => p.factors.push(Factor {
                var,
                constant: None,
                sgn: false,
            }),
            Tok::Bracket(inner) | Tok::Sgn(inner) => {
                let sgn = matches!(token.tok, Tok::Sgn(_));
                if let Some(factor) = bracket(source, token.span, inner, sgn, &mut p)? {
                    p.factors.push(factor);
                }
            }
        }
    }
    let fail = |reason| source.error(span, reason);
    // Lava halves the mantissa with a float division; beyond 2^53 that
    // rounds, and the emulation rounds the same way.
    while p.mantissa.unsigned_abs() > 7 && p.mantissa % 2 == 0 && p.exponent < 8 {
        p.mantissa = ((p.mantissa >> 1) as f64) as i128;
        p.exponent += 1;
    }
    let dependency = p
        .dependency
        .ok_or_else(|| fail(RuleErrorKind::NoDependency))?;
    let mantissa = i8::try_from(p.mantissa)
        .map_err(|_| fail(RuleErrorKind::MantissaOutOfRange(p.mantissa)))?;
    if !(-8..=7).contains(&mantissa) {
        return Err(fail(RuleErrorKind::MantissaOutOfRange(p.mantissa)));
    }
    let exponent = i8::try_from(p.exponent)
        .ok()
        .filter(|e| (-7..=8).contains(e))
        .ok_or_else(|| fail(RuleErrorKind::ExponentOutOfRange(p.exponent)))?;
    let widths = p
        .factors
        .iter()
        .fold(0u32, |sum, f| sum.saturating_add(f.var.width()));
    Ok(Product {
        dependency,
        mantissa,
        exponent,
        shift: widths
            .saturating_add(MANTISSA_WIDTH)
            .saturating_sub(ACCUMULATOR_WIDTH),
        factors: p.factors,
    })
}

/// Reads a bracket or `sgn()` the way Lava's `_generate_product` does: a
/// lone literal folds into the scale; a lone variable is a factor; otherwise
/// the first four symbols must be `±v ± c` or `±c ± v`.
fn bracket(
    source: &Source<'_>,
    span: Span,
    inner: &[Token],
    sgn: bool,
    p: &mut ProductBuilder,
) -> Result<Option<Factor>, LearningError> {
    let fail = |reason| source.error(span, reason);
    // Lava puts a `+` in front unless the bracket starts with an operator.
    let plus = Token {
        tok: Tok::Plus,
        span,
    };
    let mut symbols: Vec<&Token> = Vec::with_capacity(inner.len() + 1);
    if !inner[0].tok.is_operator() {
        symbols.push(&plus);
    }
    symbols.extend(inner);
    if symbols.len() < 2 {
        return Err(fail(RuleErrorKind::EmptyBracket));
    }
    let operator_sign = |token: &Token| match token.tok {
        Tok::Plus => Ok(1),
        Tok::Minus => Ok(-1),
        _ => Err(source.error(token.span, RuleErrorKind::BracketOperator)),
    };
    if symbols.len() == 2 {
        let sign = operator_sign(symbols[0])?;
        return match symbols[1].tok {
            Tok::Var(var) => {
                if sign < 0 {
                    return Err(fail(RuleErrorKind::NegatedBracketVariable));
                }
                if sgn && !matches!(var, Variable::W | Variable::D | Variable::T) {
                    return Err(fail(RuleErrorKind::SgnVariable));
                }
                Ok(Some(Factor {
                    var,
                    constant: None,
                    sgn,
                }))
            }
            Tok::Literal(literal) if !sgn => {
                p.scale(literal, sign).map_err(fail)?;
                Ok(None)
            }
            _ if sgn => Err(fail(RuleErrorKind::SgnVariable)),
            _ => Err(fail(RuleErrorKind::IgnoredBracket)),
        };
    }
    if symbols.len() < 4 {
        return Err(fail(RuleErrorKind::BracketForm));
    }
    let is_var = |t: &Token| matches!(t.tok, Tok::Var(_) | Tok::X0 | Tok::Y0 | Tok::U(_));
    let is_literal = |t: &Token| matches!(t.tok, Tok::Literal(_));
    let (var_sign, var_at, const_sign, const_at) = if is_var(symbols[1]) && is_literal(symbols[3]) {
        (0, 1, 2, 3)
    } else if is_var(symbols[3]) && is_literal(symbols[1]) {
        (2, 3, 0, 1)
    } else {
        return Err(fail(RuleErrorKind::BracketForm));
    };
    let sign_var = operator_sign(symbols[var_sign])?;
    let sign_const = operator_sign(symbols[const_sign])?;
    if symbols.len() > 4 {
        return Err(fail(RuleErrorKind::ExtraBracketSymbols));
    }
    let var = match symbols[var_at].tok {
        Tok::Var(var) => var,
        Tok::X0 => Variable::X0,
        Tok::Y0 => Variable::Y0,
        _ => return Err(fail(RuleErrorKind::UkFactor)),
    };
    let Tok::Literal(literal) = symbols[const_at].tok else {
        return Err(fail(RuleErrorKind::BracketForm));
    };
    if sgn {
        if !matches!(var, Variable::W | Variable::D | Variable::T) {
            return Err(fail(RuleErrorKind::SgnVariable));
        }
        if sign_var < 0 {
            return Err(fail(RuleErrorKind::SgnNegated));
        }
    }
    // `(-v + c)` is `-(v - c)`: the minus moves into the scale.
    if sign_var < 0 {
        p.mantissa = p
            .mantissa
            .checked_neg()
            .ok_or_else(|| fail(RuleErrorKind::LiteralTooLarge))?;
    }
    let constant = constant(literal, sign_const * sign_var);
    Ok(Some(Factor {
        var,
        constant: Some(constant),
        sgn,
    }))
}

/// Width of the scale mantissa, counted in a product's shift.
const MANTISSA_WIDTH: u32 = 4;
/// Unsigned width of the accumulator a product is shifted back to.
const ACCUMULATOR_WIDTH: u32 = 15;

/// Beyond this, an integer constant only pushes its factor to the end of the
/// factor's clipping range, so larger magnitudes are kept at it.
const CONSTANT_LIMIT: i64 = 1 << 40;

/// `sign·m·2^e` as Lava computes it: an exact integer for e ≥ 0, a double
/// `float(m)·2.0^e` for e < 0.
fn constant(literal: Literal, sign: i128) -> Constant {
    let sign: i64 = if sign < 0 { -1 } else { 1 };
    let Literal { mantissa, exponent } = literal;
    if exponent >= 0 {
        let limit = i128::from(CONSTANT_LIMIT);
        let magnitude = if mantissa == 0 {
            0
        } else if exponent >= 40 {
            limit
        } else {
            mantissa.saturating_mul(1i128 << exponent).min(limit)
        };
        // The magnitude is at most 2^40 here, so it fits.
        let magnitude = i64::try_from(magnitude).unwrap_or(CONSTANT_LIMIT);
        Constant::Int(sign * magnitude)
    } else {
        Constant::Float(sign as f64 * (mantissa as f64 * pow2(exponent)))
    }
}

/// 2^e exactly for e < 0: a normal or subnormal double, or 0 below 2^−1074.
fn pow2(e: i64) -> f64 {
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else if e >= -1074 {
        f64::from_bits(1u64 << (e + 1074))
    } else {
        0.0
    }
}
