//! Naming generated types: a free name in a module, derived names kept
//! short, and the shared enums of `rules::SHARED_ENUMS`.

use crate::model::{
    Model, Ty, TypeDef, TypeKind, DEFINITIONS, MAX_NAME_PARTS, NAME_OVERRIDES, SEP,
};

impl Model {
    /// Reserves a type name in a module: `preferred` if free, else
    /// `fallback`, else `fallback` with a number.
    pub(crate) fn reserve(
        &mut self,
        module: &str,
        preferred: Option<String>,
        fallback: &str,
    ) -> String {
        let fallback = self.short_name(module, preferred.as_deref(), fallback);
        let fallback = fallback.as_str();
        let m = self.module_mut(module);
        let mut candidates = preferred.into_iter().chain([fallback.to_owned()]);
        let name = candidates
            .find(|c| !m.names.contains(c))
            .unwrap_or_else(|| {
                (2..)
                    .map(|i| format!("{fallback}{i}"))
                    .find(|c| !m.names.contains(c))
                    .unwrap_or_default()
            });
        m.names.insert(name.clone());
        name
    }

    /// A name derived from where a schema sits (`hint`, its parts joined
    /// by [`SEP`]), shortened: more than [`MAX_NAME_PARTS`] parts after
    /// the root need an entry in [`NAME_OVERRIDES`]; a missing one is an
    /// error of the generator run, so no such name is emitted unnoticed.
    fn short_name(&mut self, module: &str, preferred: Option<&str>, hint: &str) -> String {
        let plain = hint.replace(SEP, "");
        let free_title = preferred.is_some_and(|t| !self.module_mut(module).names.contains(t));
        if hint.matches(SEP).count() <= MAX_NAME_PARTS || free_title {
            return plain;
        }
        match NAME_OVERRIDES.iter().find(|(long, _)| *long == plain) {
            Some((_, short)) => (*short).to_owned(),
            None => {
                self.errors.push(format!(
                    "{module}::{plain} nests more than {MAX_NAME_PARTS} parts: give it a name in NAME_OVERRIDES (xtask/src/rules.rs)"
                ));
                plain
            }
        }
    }

    /// The one `definitions` type for an inline enum of [`SHARED_ENUMS`],
    /// defined on first use.
    pub(crate) fn shared_enum_type(&mut self, name: &'static str, values: Vec<String>) -> Ty {
        let defined = self
            .module_mut(DEFINITIONS)
            .types
            .iter()
            .any(|d| d.name == name);
        if !defined {
            let reserved = self.reserve(DEFINITIONS, Some(name.to_owned()), name);
            if reserved != name {
                self.errors.push(format!(
                    "SHARED_ENUMS name {name} is taken in definitions: choose another"
                ));
            }
            self.add_type(
                DEFINITIONS,
                TypeDef {
                    name: name.to_owned(),
                    origin: "the inline string enums with these values (one type for all)".into(),
                    kind: TypeKind::StringEnum { values },
                },
            );
        }
        Ty::Named(DEFINITIONS.to_owned(), name.to_owned())
    }
}
