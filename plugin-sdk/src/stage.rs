//! The stage kind: the `Stage` trait and the adapter the export macro uses.

use std::cell::RefCell;

/// Bindings for the `stage-plugin` world.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "stage-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_stage_world",
        default_bindings_module: "aish_plugin_sdk::__private::stage",
        runtime_path: "::aish_plugin_sdk::__private::stage::wit_bindgen_rt",
    });
    #[doc(hidden)]
    pub use wit_bindgen::rt as wit_bindgen_rt;
}

use bindings::exports::aish::plugin::stage::{GuestProcessor, Processor};

use crate::Stage;

/// Adapts a [`Stage`] to the generated resource trait.
#[doc(hidden)]
pub struct StageResource<T>(RefCell<T>);

impl<T: Stage> GuestProcessor for StageResource<T> {
    fn create(args: Vec<String>, context: String) -> Result<Processor, String> {
        T::create(args, context).map(|s| Processor::new(StageResource(RefCell::new(s))))
    }

    fn push(&self, chunk: String) -> Result<String, String> {
        self.0.borrow_mut().push(&chunk)
    }

    fn finish(&self) -> Result<String, String> {
        self.0.borrow_mut().finish()
    }
}

/// Exports a [`Stage`] implementation and embeds the plugin's manifest.
#[macro_export]
macro_rules! register_stage {
    ($stage:ty) => {
        #[cfg(target_family = "wasm")]
        const _: () = {
            struct __AishStageExport;
            impl $crate::__private::stage::exports::aish::plugin::stage::Guest for __AishStageExport {
                type Processor = $crate::__private::StageResource<$stage>;
            }
            $crate::__private::stage::__export_stage_world!(
                __AishStageExport with_types_in $crate::__private::stage
            );
        };
        $crate::__embed_manifest!("stage");
    };
}
