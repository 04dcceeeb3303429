//! Prometheus's label-name rule, `[a-zA-Z_][a-zA-Z0-9_]*`, shared by config validation, the
//! relabel engine (a `replace` whose expanded target is not a valid name does nothing) and target
//! discovery (group labels from files).

/// Whether `name` is a valid Prometheus label name.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `target` is acceptable as a `target_label` that may hold `$1`/`${name}` references
/// (Prometheus's `relabelTarget`: `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`). The pattern
/// amounts to: a sequence of name characters and `$ref`/`${ref}` references, not starting with
/// a digit outside a reference.
pub fn is_valid_label_template(target: &str) -> bool {
    let bytes = target.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    // Every repetition of the outer group must start with a letter, `_` or a reference; digits
    // may only follow one of those.
    let mut started = false;
    while i < bytes.len() {
        match bytes[i] {
            b'$' => {
                if bytes.get(i + 1) == Some(&b'{') {
                    let len = bytes[i + 2..].iter().take_while(|b| word(**b)).count();
                    if len == 0 || bytes.get(i + 2 + len) != Some(&b'}') {
                        return false;
                    }
                    i += 3 + len;
                } else {
                    let len = bytes[i + 1..].iter().take_while(|b| word(**b)).count();
                    if len == 0 {
                        return false;
                    }
                    i += 1 + len;
                }
                started = true;
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                started = true;
                i += 1;
            }
            b if b.is_ascii_digit() && started => i += 1,
            _ => return false,
        }
    }
    started
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names() {
        for ok in ["a", "_", "job", "__address__", "a1_B2"] {
            assert!(is_valid_label_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a.b", "é", "a b"] {
            assert!(!is_valid_label_name(bad), "{bad}");
        }
    }

    #[test]
    fn label_templates() {
        for ok in [
            "a",
            "$1",
            "${1}",
            "foo_$1",
            "${name}_x",
            "$1$2",
            "a1",
            "$foo9",
        ] {
            assert!(is_valid_label_template(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "$", "${}", "${1", "$-", "a.$1"] {
            assert!(!is_valid_label_template(bad), "{bad}");
        }
    }
}
