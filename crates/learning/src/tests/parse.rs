//! The parser against Lava's own reading of the same strings
//! (`parser.json`, written by `generate.py parser`).

use serde_json::{Value, json};

use crate::error::{LearningError, Target};
use crate::profile::{LearningProfile, RuleSpec};
use crate::rule::{Constant, Dependency, Product};

use super::golden;

/// A product in the shape `generate.py` writes Lava's.
fn product_json(p: &Product) -> Value {
    let factors: Vec<Value> = p
        .factors()
        .iter()
        .map(|f| {
            let mut entry = json!({"var": f.variable().name(), "sgn": f.is_sgn()});
            match f.constant() {
                None => entry["const"] = Value::Null,
                Some(Constant::Int(c)) => entry["const"] = json!(c),
                Some(Constant::Float(c)) => entry["const_float_bits"] = json!(c.to_bits()),
            }
            entry
        })
        .collect();
    json!({
        "dependency": match p.dependency() {
            Dependency::X0 => "x0",
            Dependency::Y0 => "y0",
            Dependency::U => "u",
        },
        "mantissa": p.mantissa(),
        "exponent": p.exponent(),
        "factors": factors,
    })
}

fn neurite_parse(rules: &Value) -> Result<Value, LearningError> {
    let get = |k: &str| rules.get(k).and_then(Value::as_str).map(str::to_string);
    let spec = RuleSpec {
        dw: get("dw"),
        dd: get("dd"),
        dt: get("dt"),
        ..RuleSpec::default()
    };
    let profile = LearningProfile::compile(&spec)?;
    let mut out = json!({"decimation": profile.decimation()});
    for target in Target::ALL {
        if let Some(rule) = profile.rule(target) {
            out[target.to_string()] =
                Value::Array(rule.products().iter().map(product_json).collect());
        }
    }
    Ok(out)
}

/// Every string Neurite refuses: the error's kind and the term it points
/// at. Kinds named in [`QUIRKS`] are strings Lava accepts but reads in a
/// surprising way (the reference's §2); all others Lava refuses too.
const REFUSED: &[(&str, &str, &str)] = &[
    (r#"{"dw":"9*x0"}"#, "MantissaOutOfRange", "9*x0"),
    (r#"{"dw":"2^9*x0"}"#, "ExponentOutOfRange", "2^9*x0"),
    (r#"{"dw":"2^-8*x0"}"#, "ExponentOutOfRange", "2^-8*x0"),
    (r#"{"dw":"4*2^-9*x0"}"#, "ExponentOutOfRange", "4*2^-9*x0"),
    (r#"{"dw":""}"#, "Empty", ""),
    (r#"{"dw":"   "}"#, "Empty", "   "),
    (r#"{"dw":"x1*y1"}"#, "NoDependency", "x1*y1"),
    (r#"{"dw":"2^-2"}"#, "NoDependency", "2^-2"),
    (r#"{"dw":"x0*u1"}"#, "UkAfterDependency", "u1"),
    (r#"{"dw":"u1*u2"}"#, "MixedDecimation", "u2"),
    (r#"{"dw":"x0*-2"}"#, "NoDependency", "-2"),
    (r#"{"dw":"x0 - - y0"}"#, "NoDependency", "-"),
    (r#"{"dw":"x0*y1 +"}"#, "NoDependency", "+"),
    (r#"{"dw":"x0*x3"}"#, "UnexpectedCharacter", "x"),
    (r#"{"dw":"x0*z"}"#, "UnexpectedCharacter", "z"),
    (r#"{"dw":"x0*\tx1"}"#, "UnexpectedCharacter", "\t"),
    (r#"{"dw":"x0*07"}"#, "LeadingZero", "07"),
    (r#"{"dw":"x0*2^-03"}"#, "LeadingZero", "03"),
    (r#"{"dw":"x0*()"}"#, "EmptyBracket", "()"),
    (r#"{"dw":"x0*sgn()"}"#, "EmptyBracket", "sgn()"),
    (r#"{"dw":"x0*(+)"}"#, "EmptyBracket", "(+)"),
    (r#"{"dw":"x0*(x1"}"#, "UnclosedBracket", "("),
    (r#"{"dw":"x0*(x1))"}"#, "UnexpectedCharacter", ")"),
    (r#"{"dw":"x0)"}"#, "UnexpectedCharacter", ")"),
    (r#"{"dw":"x0*(x1+)"}"#, "BracketForm", "(x1+)"),
    (r#"{"dw":"x0*(2x1)"}"#, "BracketForm", "(2x1)"),
    (r#"{"dw":"x0*(x1 + y1)"}"#, "BracketForm", "(x1 + y1)"),
    (r#"{"dw":"x0*(2 + 3)"}"#, "BracketForm", "(2 + 3)"),
    (r#"{"dw":"x0*(x1+-2)"}"#, "BracketForm", "(x1+-2)"),
    (r#"{"dw":"x0*(u1 + 1)"}"#, "UkFactor", "(u1 + 1)"),
    (r#"{"dw":"x0*sgn(x1)"}"#, "SgnVariable", "sgn(x1)"),
    (r#"{"dw":"x0*sgn(x1 + 1)"}"#, "SgnVariable", "sgn(x1 + 1)"),
    (r#"{"dw":"x0*sgn(1 - w)"}"#, "SgnNegated", "sgn(1 - w)"),
    (r#"{"dw":"x0*sgn(-w + 1)"}"#, "SgnNegated", "sgn(-w + 1)"),
    (r#"{"dw":"x0*sgn(2)"}"#, "SgnVariable", "sgn(2)"),
    (r#"{"dw":"x0*sgn((w))"}"#, "SgnVariable", "sgn((w))"),
    (r#"{"dw":"x0*sgn(x0)"}"#, "SgnVariable", "sgn(x0)"),
    (r#"{"dw":"x0*2^3^4"}"#, "UnexpectedCharacter", "^"),
    (r#"{"dw":"x0*22^3"}"#, "UnexpectedCharacter", "^"),
    (r#"{"dw":"x0*((x1+1)+2)"}"#, "BracketForm", "((x1+1)+2)"),
    (
        r#"{"dw":"x0*99999999999999999999999999999999999999999"}"#,
        "LiteralTooLarge",
        "99999999999999999999999999999999999999999",
    ),
    (r#"{"dd":"u2*x1","dw":"u1*x1"}"#, "MixedDecimation", "u2"),
    (r#"{}"#, "NoRule", ""),
    (r#"{"dw":"x0*(-x1)"}"#, "NegatedBracketVariable", "(-x1)"),
    (
        r#"{"dw":"x0*sgn(-w)"}"#,
        "NegatedBracketVariable",
        "sgn(-w)",
    ),
    (r#"{"dw":"x0*(x0)"}"#, "IgnoredBracket", "(x0)"),
    (r#"{"dw":"x0*(y0)"}"#, "IgnoredBracket", "(y0)"),
    (r#"{"dw":"x0*(u1)"}"#, "IgnoredBracket", "(u1)"),
    (r#"{"dw":"x0*((x1))"}"#, "IgnoredBracket", "((x1))"),
    (r#"{"dw":"x0*(sgn(w))"}"#, "IgnoredBracket", "(sgn(w))"),
    (r#"{"dw":"x0*(x1*3)"}"#, "BracketOperator", "*"),
    (r#"{"dw":"x0*(*x1)"}"#, "BracketOperator", "*"),
    (r#"{"dw":"x0*(x1 x2 3)"}"#, "BracketOperator", "x2"),
    (
        r#"{"dw":"x0*(x1+3+x2)"}"#,
        "ExtraBracketSymbols",
        "(x1+3+x2)",
    ),
    (
        r#"{"dw":"x0*(x1 + 1 - 2)"}"#,
        "ExtraBracketSymbols",
        "(x1 + 1 - 2)",
    ),
    (r#"{"dw":"u10*x1"}"#, "MultiDigitUk", "u10"),
    (r#"{"dw":"u 1*x1"}"#, "SpaceInsideToken", "u 1"),
    (r#"{"dw":"x 1*y0"}"#, "SpaceInsideToken", "x 1"),
    (r#"{"dw":"1 6*x0"}"#, "SpaceInsideToken", "1 6"),
    (r#"{"dw":"x0*2^1 0"}"#, "SpaceInsideToken", "2^1 0"),
    (r#"{"dw":"s gn(w)*x0"}"#, "SpaceInsideToken", "s gn"),
    (r#"{"dd":"u 2*x1","dw":"u1*x1"}"#, "SpaceInsideToken", "u 2"),
];

/// Error kinds for strings Lava accepts and Neurite refuses, with the reason
/// in [`RuleErrorKind`](crate::RuleErrorKind)'s docs.
const QUIRKS: &[&str] = &[
    "NegatedBracketVariable",
    "IgnoredBracket",
    "BracketOperator",
    "ExtraBracketSymbols",
    "MultiDigitUk",
    "SpaceInsideToken",
];

/// Constants beyond ±2^40 are kept at ±2^40 (every factor clips to 9 bits,
/// so the reading is the same); compare Lava's the same way.
fn cap_constants(mut v: Value) -> Value {
    if let Some(map) = v.as_object_mut() {
        for target in ["dw", "dd", "dt"] {
            for product in map
                .get_mut(target)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                for factor in product["factors"].as_array_mut().into_iter().flatten() {
                    if let Some(c) = factor["const"].as_i64() {
                        factor["const"] = json!(c.clamp(-(1 << 40), 1 << 40));
                    }
                }
            }
        }
    }
    v
}

fn kind_name(e: &LearningError) -> String {
    let debug = match e {
        LearningError::Rule { reason, .. } => format!("{reason:?}"),
        other => format!("{other:?}"),
    };
    debug
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn parser_reads_what_lava_reads_and_refuses_what_it_refuses() {
    let data = golden("parser.json");
    let cases = data["cases"].as_array().unwrap();
    let mut seen = 0;
    for case in cases {
        let rules = &case["rules"];
        let key = serde_json::to_string(rules).unwrap();
        let lava = &case["lava"];
        let ours = neurite_parse(rules);
        match REFUSED.iter().find(|(r, _, _)| *r == key) {
            Some(&(_, kind, text)) => {
                seen += 1;
                let e = ours.expect_err(&key);
                assert_eq!(kind_name(&e), kind, "{key}: {e}");
                if let LearningError::Rule {
                    text: got, offset, ..
                } = &e
                {
                    assert_eq!(got, text, "{key}: {e}");
                    // The offset points at the same text in the rule given.
                    let rule = rules.as_object().unwrap().values().find_map(|r| {
                        r.as_str()
                            .filter(|r| r.get(*offset..).is_some_and(|s| s.starts_with(text)))
                    });
                    assert!(rule.is_some(), "{key}: offset {offset} of {text:?}");
                }
                if lava.get("ok").is_some() {
                    assert!(
                        QUIRKS.contains(&kind),
                        "{key}: Lava accepts it; {kind} is no quirk"
                    );
                }
            }
            None => {
                let lava = lava
                    .get("ok")
                    .unwrap_or_else(|| panic!("{key}: Lava refuses it: {lava}"));
                let ours = ours.unwrap_or_else(|e| panic!("{key}: {e}"));
                assert_eq!(ours, cap_constants(lava.clone()), "{key}");
            }
        }
    }
    assert_eq!(
        seen,
        REFUSED.len(),
        "every refusal listed is a case of parser.json"
    );
    for case in data["three_factor"].as_array().unwrap() {
        let ours = neurite_parse(&case["rules"]).unwrap();
        assert_eq!(ours, case["lava"]["ok"]);
    }
}

#[test]
fn errors_name_target_offset_and_term() {
    let spec = RuleSpec {
        dw: Some("x0*y1".into()),
        dt: Some("y0*x1 + x0 * sgn(x1)".into()),
        ..RuleSpec::default()
    };
    let e = LearningProfile::compile(&spec).unwrap_err();
    assert_eq!(
        e.to_string(),
        "dt rule, byte 13 (`sgn(x1)`): sgn() applies to w, d or t only"
    );
}

#[test]
fn canonical_form_reads_back() {
    let data = golden("parser.json");
    for case in data["cases"].as_array().unwrap() {
        let Some(text) = case["rules"]["dw"].as_str() else {
            continue;
        };
        let Ok(rule) = crate::Rule::parse(Target::Dw, text) else {
            continue;
        };
        let written = rule.to_string();
        let again = crate::Rule::parse(Target::Dw, &written)
            .unwrap_or_else(|e| panic!("{text} -> {written}: {e}"));
        assert_eq!(again.products(), rule.products(), "{text} -> {written}");
    }
}
