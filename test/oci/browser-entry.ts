// Bundled by the browser test: the web/oci engine as a page would load it.
export { RegistryClient } from '../../web/oci/registry.js'
export { buildRootFs, resolveImage } from '../../web/oci/image.js'
export { readFile } from '../../web/oci/rootfs.js'
export { parseReference } from '../../web/oci/reference.js'
