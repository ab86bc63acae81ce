//! Every function registered with `#[tinybase::function]`, collected at start-up.

use std::collections::BTreeMap;

use super::FunctionDescriptor;
use crate::{Error, Result};

/// The registered functions, by name.
#[derive(Debug, Default, Clone)]
pub struct FunctionRegistry {
    by_name: BTreeMap<&'static str, &'static FunctionDescriptor>,
}

impl FunctionRegistry {
    /// Collects every function linked into the binary.
    ///
    /// Functions in a separate library crate register only if the binary links that crate
    /// (`use my_functions as _;`).
    ///
    /// # Errors
    /// When two functions share a name, naming both definitions.
    pub fn collect() -> Result<Self> {
        Self::from_descriptors(inventory::iter::<FunctionDescriptor>)
    }

    /// A registry of exactly these functions.
    ///
    /// # Errors
    /// When two functions share a name, naming both definitions.
    pub fn from_descriptors(
        descriptors: impl IntoIterator<Item = &'static FunctionDescriptor>,
    ) -> Result<Self> {
        let mut by_name: BTreeMap<&'static str, &'static FunctionDescriptor> = BTreeMap::new();
        // Sorted first so a clash is reported the same way on every build.
        let mut all: Vec<_> = descriptors.into_iter().collect();
        all.sort_by_key(|d| (d.name, d.file, d.line));
        for descriptor in all {
            if let Some(first) = by_name.insert(descriptor.name, descriptor) {
                return Err(Error::internal(format!(
                    "two functions are named `{}`: {} ({}:{}) and {} ({}:{}); rename one, \
                     e.g. with #[tinybase::function(name = \"...\")]",
                    descriptor.name,
                    first.module_path,
                    first.file,
                    first.line,
                    descriptor.module_path,
                    descriptor.file,
                    descriptor.line,
                )));
            }
        }
        Ok(Self { by_name })
    }

    /// Every function, sorted by name.
    pub fn all(&self) -> impl Iterator<Item = &'static FunctionDescriptor> + '_ {
        self.by_name.values().copied()
    }

    /// The function called `name`.
    pub fn get(&self, name: &str) -> Option<&'static FunctionDescriptor> {
        self.by_name.get(name).copied()
    }

    /// How many functions there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when no function is registered.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::FunctionRegistry;
    use crate::functions::{AuthLevel, Context};

    /// Defined inside this crate: `extern crate self as tinybase` makes the macro's
    /// `::tinybase::…` paths resolve here too.
    #[tinybase::function(name = "internal_ping", auth = "public")]
    async fn ping(_ctx: Context) -> crate::Result<String> {
        Ok("pong".to_owned())
    }

    #[test]
    fn functions_defined_in_this_crate_register() {
        let registry = FunctionRegistry::collect().unwrap();
        let ping = registry.get("internal_ping").unwrap();
        assert_eq!(ping.auth, AuthLevel::Public);
        assert_eq!(ping.module_path, "tinybase::functions::registry::tests");
        assert!(ping.input_schema.is_none());
    }
}
