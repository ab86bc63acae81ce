//! Splits filter text into tokens, one at a time, each with its character position.
//!
//! The parser pulls tokens on demand, so the first error in reading order is the one
//! reported, whether it is lexical (`;`) or grammatical (`title = x`).

use std::fmt;

use super::error::{QueryError, quote};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `~`: contains.
    Like,
    /// `!~`: does not contain.
    NotLike,
}

impl Op {
    /// The operator as written in filters.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Like => "~",
            Self::NotLike => "!~",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A bare word: a field name, `true`/`false`/`null` on the right of an operator, or
    /// (in rules) a path such as `author.email` or `@request.auth.id`.
    Ident(String),
    /// A quoted string, escapes resolved.
    Str(String),
    /// A number without fraction or exponent that fits in an `i64`.
    Int(i64),
    /// Any other finite number.
    Float(f64),
    /// A comparison operator.
    Op(Op),
    /// `&&`
    And,
    /// `||`
    Or,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// The end of the text.
    End,
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    /// What it is.
    pub(crate) tok: Tok,
    /// The character offset of its first character.
    pub(crate) pos: usize,
    /// The source text it was read from, for messages.
    pub(crate) text: String,
}

impl Token {
    /// How to name the token in a "found …" message.
    pub(crate) fn describe(&self) -> String {
        match self.tok {
            Tok::End => "the end of the filter".to_owned(),
            _ => quote(&self.text),
        }
    }
}

/// The operators, for hints.
pub(crate) const OPERATORS: &str = "= != > >= < <= ~ !~";

/// Reads tokens from filter text.
pub(crate) struct Lexer {
    chars: Vec<char>,
    at: usize,
}

impl Lexer {
    /// A lexer over `text`, which the caller has already checked against the length limit.
    pub(crate) fn new(text: &str) -> Self {
        Self {
            chars: text.chars().collect(),
            at: 0,
        }
    }

    /// The next token, or [`Tok::End`] (again and again) once the text is used up.
    pub(crate) fn next_token(&mut self) -> Result<Token, QueryError> {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.at += 1;
        }
        let start = self.at;
        let Some(c) = self.peek(0) else {
            return Ok(self.token(Tok::End, start));
        };
        let next = self.peek(1);
        let (tok, len) = match (c, next) {
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('&', Some('&')) => (Tok::And, 2),
            ('|', Some('|')) => (Tok::Or, 2),
            ('=', Some('=')) => {
                return Err(QueryError::at(start, "`==` is not an operator").hint("use `=`"));
            }
            ('<', Some('>')) => {
                return Err(QueryError::at(start, "`<>` is not an operator").hint("use `!=`"));
            }
            ('!', Some('=')) => (Tok::Op(Op::Ne), 2),
            ('!', Some('~')) => (Tok::Op(Op::NotLike), 2),
            ('>', Some('=')) => (Tok::Op(Op::Ge), 2),
            ('<', Some('=')) => (Tok::Op(Op::Le), 2),
            ('=', _) => (Tok::Op(Op::Eq), 1),
            ('>', _) => (Tok::Op(Op::Gt), 1),
            ('<', _) => (Tok::Op(Op::Lt), 1),
            ('~', _) => (Tok::Op(Op::Like), 1),
            ('\'' | '"', _) => return self.string(c),
            ('-', Some(d)) if d.is_ascii_digit() => return self.number(),
            (d, _) if d.is_ascii_digit() => return self.number(),
            (w, _) if w.is_ascii_alphabetic() || w == '_' || w == '@' => return Ok(self.word()),
            ('&', _) => return Err(QueryError::at(start, "single `&`").hint("use `&&` for and")),
            ('|', _) => return Err(QueryError::at(start, "single `|`").hint("use `||` for or")),
            ('!', _) => {
                return Err(QueryError::at(start, "unexpected `!`")
                    .hint(format!("the operators are {OPERATORS}")));
            }
            ('-', _) => {
                return Err(QueryError::at(start, "unexpected `-`")
                    .hint("a negative number is written like -1.5"));
            }
            (other, _) => {
                return Err(QueryError::at(
                    start,
                    format!("unexpected character {}", quote(&other.to_string())),
                ));
            }
        };
        self.at += len;
        Ok(self.token(tok, start))
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    /// A token for the text from `start` to the current position.
    fn token(&self, tok: Tok, start: usize) -> Token {
        Token {
            tok,
            pos: start,
            text: self.chars[start..self.at].iter().collect(),
        }
    }

    /// A string in `quote_char`s; `\'`, `\"` and `\\` are the only escapes.
    fn string(&mut self, quote_char: char) -> Result<Token, QueryError> {
        let start = self.at;
        self.at += 1;
        let mut value = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(QueryError::at(start, "unterminated string starting")
                    .hint(format!("close it with {quote_char}")));
            };
            match c {
                c if c == quote_char => break,
                '\\' => match self.peek(1) {
                    Some(escaped @ ('\'' | '"' | '\\')) => {
                        value.push(escaped);
                        self.at += 1;
                    }
                    Some(other) => {
                        return Err(QueryError::at(
                            self.at,
                            format!("unknown escape {}", quote(&format!("\\{other}"))),
                        )
                        .hint(r#"the escapes are \', \" and \\"#));
                    }
                    None => {
                        return Err(QueryError::at(start, "unterminated string starting")
                            .hint(format!("close it with {quote_char}")));
                    }
                },
                c => value.push(c),
            }
            self.at += 1;
        }
        self.at += 1;
        Ok(self.token(Tok::Str(value), start))
    }

    /// `-?digits(.digits)?([eE][+-]?digits)?`, finite; without fraction or exponent it must
    /// fit in an `i64`.
    fn number(&mut self) -> Result<Token, QueryError> {
        let start = self.at;
        if self.peek(0) == Some('-') {
            self.at += 1;
        }
        self.digits();
        let mut integral = true;
        if self.peek(0) == Some('.') {
            self.at += 1;
            integral = false;
            if self.digits() == 0 {
                return Err(QueryError::at(
                    self.at,
                    "expected digits after the decimal point",
                ));
            }
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            self.at += 1;
            integral = false;
            if matches!(self.peek(0), Some('+' | '-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(QueryError::at(self.at, "expected digits in the exponent"));
            }
        }
        if let Some(c) = self
            .peek(0)
            .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '.'))
        {
            return Err(QueryError::at(
                self.at,
                format!("unexpected {} after a number", quote(&c.to_string())),
            ));
        }
        let text: String = self.chars[start..self.at].iter().collect();
        let tok = if integral {
            let value = text.parse::<i64>().map_err(|_| {
                QueryError::at(start, format!("integer {} is out of range", quote(&text)))
                    .hint("integers must fit in 64 bits")
            })?;
            Tok::Int(value)
        } else {
            // Rust's float syntax accepts everything the scan above lets through; a failed
            // parse would be a bug, reported rather than trusted.
            match text.parse::<f64>() {
                Ok(value) if value.is_finite() => Tok::Float(value),
                _ => {
                    return Err(QueryError::at(
                        start,
                        format!("number {} is out of range", quote(&text)),
                    ));
                }
            }
        };
        Ok(Token {
            tok,
            pos: start,
            text,
        })
    }

    /// Consumes ASCII digits; returns how many.
    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        self.at - start
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`.
    /// A bare word. Dots join the parts of a path (`author.email`) and a leading `@`
    /// starts a name of a rule's world (`@request.auth.id`); which of those a filter may
    /// use is the parser's decision.
    fn word(&mut self) -> Token {
        let start = self.at;
        self.at += 1;
        while self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        Token {
            tok: Tok::Ident(text.clone()),
            pos: start,
            text,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn lex(text: &str) -> Result<Vec<(Tok, usize)>, QueryError> {
        let mut lexer = Lexer::new(text);
        let mut out = Vec::new();
        loop {
            let token = lexer.next_token()?;
            if token.tok == Tok::End {
                return Ok(out);
            }
            out.push((token.tok, token.pos));
        }
    }

    fn lex_err(text: &str) -> QueryError {
        lex(text).expect_err(text)
    }

    #[test]
    fn operators_and_punctuation() {
        let toks: Vec<Tok> = lex("= != > >= < <= ~ !~ && || ( )")
            .unwrap()
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(
            toks,
            vec![
                Tok::Op(Op::Eq),
                Tok::Op(Op::Ne),
                Tok::Op(Op::Gt),
                Tok::Op(Op::Ge),
                Tok::Op(Op::Lt),
                Tok::Op(Op::Le),
                Tok::Op(Op::Like),
                Tok::Op(Op::NotLike),
                Tok::And,
                Tok::Or,
                Tok::LParen,
                Tok::RParen,
            ]
        );
    }

    #[test]
    fn whitespace_is_optional_and_positions_count_characters() {
        assert_eq!(
            lex("a>=-1").unwrap(),
            vec![
                (Tok::Ident("a".into()), 0),
                (Tok::Op(Op::Ge), 1),
                (Tok::Int(-1), 3)
            ]
        );
        // "é" is two bytes but one character.
        assert_eq!(lex("'é' x").unwrap()[1], (Tok::Ident("x".into()), 4));
    }

    #[test]
    fn strings_in_either_quote_with_escapes() {
        assert_eq!(lex(r"'it\'s'").unwrap()[0].0, Tok::Str("it's".into()));
        assert_eq!(
            lex(r#""say \"hi\"""#).unwrap()[0].0,
            Tok::Str(r#"say "hi""#.into())
        );
        assert_eq!(lex(r"'a\\b'").unwrap()[0].0, Tok::Str(r"a\b".into()));
        assert_eq!(lex(r#"'"'"#).unwrap()[0].0, Tok::Str("\"".into()));
        assert_eq!(lex(r#""'""#).unwrap()[0].0, Tok::Str("'".into()));
        assert_eq!(lex("''").unwrap()[0].0, Tok::Str(String::new()));
    }

    #[test]
    fn numbers() {
        let num = |text: &str| lex(text).unwrap()[0].0.clone();
        assert_eq!(num("42"), Tok::Int(42));
        assert_eq!(num("-7"), Tok::Int(-7));
        assert_eq!(num("007"), Tok::Int(7));
        assert_eq!(num("-1.5"), Tok::Float(-1.5));
        assert_eq!(num("2e3"), Tok::Float(2000.0));
        assert_eq!(num("2.5E-1"), Tok::Float(0.25));
        assert_eq!(num("9223372036854775807"), Tok::Int(i64::MAX));
        assert_eq!(num("-9223372036854775808"), Tok::Int(i64::MIN));
    }

    #[test]
    fn bad_numbers() {
        let err = lex_err("9223372036854775808");
        assert_eq!(err.position, 0);
        assert!(err.message.contains("out of range"), "{}", err.message);
        assert!(lex_err("1e999").message.contains("out of range"));
        assert!(lex_err("-1e999").message.contains("out of range"));
        assert_eq!(lex_err("1.").position, 2);
        assert_eq!(lex_err("1.x").position, 2);
        assert_eq!(lex_err("1e").position, 2);
        assert_eq!(lex_err("12abc").position, 2);
        assert_eq!(lex_err("1.2.3").position, 3);
        assert_eq!(lex_err("- 1").position, 0);
    }

    #[test]
    fn bad_strings() {
        let err = lex_err("a = 'abc");
        assert_eq!(err.position, 4);
        assert_eq!(
            err.message,
            "unterminated string starting at position 4; close it with '"
        );
        assert_eq!(lex_err(r"'abc\").position, 0);
        let err = lex_err(r"'a\nb'");
        assert_eq!(err.position, 2);
        assert_eq!(
            err.message,
            r#"unknown escape `\n` at position 2; the escapes are \', \" and \\"#
        );
        // A quote of the other kind does not close the string.
        assert_eq!(lex_err(r#"'abc""#).position, 0);
    }

    #[test]
    fn bad_characters() {
        assert_eq!(lex_err("a = 1;").position, 5);
        assert_eq!(
            lex_err("a == 1").message,
            "`==` is not an operator at position 2; use `=`"
        );
        assert_eq!(lex_err("a <> 1").position, 2);
        assert!(lex_err("a & b").message.contains("use `&&`"));
        assert!(lex_err("a | b").message.contains("use `||`"));
        assert_eq!(lex_err("!a").position, 0);
        assert_eq!(
            lex_err("ü").message,
            "unexpected character `ü` at position 0"
        );
        assert_eq!(
            lex_err("\u{0}").message,
            "unexpected character `\\0` at position 0"
        );
    }
}
