//! A small argument reader: `--name value` options, `--flag` switches and
//! positional words. The command line needs no more than this, so it costs
//! no dependency.

use std::str::FromStr;

/// Parsed arguments of one subcommand.
#[derive(Debug, Default)]
pub struct Args {
    positional: Vec<String>,
    options: Vec<(String, Option<String>)>,
}

impl Args {
    /// Splits `raw`; `switches` lists the options that take no value.
    pub fn parse(raw: &[String], switches: &[&str]) -> Result<Self, String> {
        let mut out = Args::default();
        let mut it = raw.iter();
        while let Some(word) = it.next() {
            if let Some(name) = word.strip_prefix("--") {
                if let Some((name, value)) = name.split_once('=') {
                    out.options.push((name.to_owned(), Some(value.to_owned())));
                } else if switches.contains(&name) {
                    out.options.push((name.to_owned(), None));
                } else {
                    let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                    out.options.push((name.to_owned(), Some(value.clone())));
                }
            } else {
                out.positional.push(word.clone());
            }
        }
        Ok(out)
    }

    /// The `i`th positional word.
    pub fn positional(&self, i: usize) -> Option<&str> {
        self.positional.get(i).map(String::as_str)
    }

    /// Whether the switch `--name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }

    /// The value of `--name`, parsed, or `default`.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.options.iter().rev().find(|(n, _)| n == name) {
            Some((_, Some(v))) => v.parse().map_err(|_| format!("--{name}: cannot read '{v}'")),
            Some((_, None)) => Err(format!("--{name} needs a value")),
            None => Ok(default),
        }
    }

    /// The value of `--name` as text, if given.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.options.iter().rev().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref())
    }
}
