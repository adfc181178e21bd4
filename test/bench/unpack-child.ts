// Child process for the unpack bench: unpacks one layer blob into a layer cache.
//   node dist/test/bench/unpack-child.js BLOB DIFFID LAYERS_DIR TMP_DIR

import { ensureLayer } from '../../server/store/layer-cache.js'

const [blob, diffId, layers, tmp] = process.argv.slice(2) as [string, string, string, string]
await ensureLayer(layers, tmp, { digest: diffId, diffId, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 0 }, blob)
