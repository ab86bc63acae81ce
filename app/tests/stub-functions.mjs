// Functions the browser test adds to the admin function list (the `blog` example has no
// input with many field types). Their input schemas are what schemars 1 writes for
//
//   /// An order to place.
//   #[derive(Deserialize, JsonSchema)] #[serde(deny_unknown_fields)]
//   struct OrderInput {
//       /// Who orders.                customer: String,
//       /// How many.                  quantity: u32,
//       /// In kilograms.              weight: f64,
//       /// Gift-wrap it.              gift: bool,
//       /// How urgent it is.          priority: Priority,        // enum { Low, Normal, High }
//                                      tags: Vec<String>,
//                                      lucky_numbers: Vec<i64>,
//       /// Where to ship it.          address: Address,          // { street: String, zip: Option<String> }
//       /// Who ships it; …            carrier: Option<Carrier>,  // documented unit variants
//       /// Overnight delivery.        express: Option<bool>,
//       /// For the courier.           notes: Option<String>,
//       /// Anything else, as JSON.    #[serde(default)] extra: HashMap<String, Value>,
//   }
//
// (properties sorted by name, as the server sends them), and for `HashMap<String, i64>`,
// which no form can show.

const common = {
  auth: 'auth', tags: ['shop'], module: 'shop', module_path: 'shop', file_path: 'src/shop.rs',
  last_loaded_at: '2025-01-01T00:00:00Z', timeout_seconds: null, output_schema: true,
}

export const PLACE_ORDER = {
  ...common,
  name: 'place_order',
  description: 'Places an order.',
  source: 'src/shop.rs:10',
  input_schema: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'OrderInput',
    description: 'An order to place.',
    type: 'object',
    properties: {
      address: { $ref: '#/$defs/Address', description: 'Where to ship it.' },
      carrier: { description: 'Who ships it; the cheapest when empty.', anyOf: [{ $ref: '#/$defs/Carrier' }, { type: 'null' }] },
      customer: { description: 'Who orders.', type: 'string' },
      express: { description: 'Overnight delivery.', type: ['boolean', 'null'] },
      extra: { description: 'Anything else, as JSON.', type: 'object', additionalProperties: true, default: {} },
      gift: { description: 'Gift-wrap it.', type: 'boolean' },
      lucky_numbers: { type: 'array', items: { type: 'integer', format: 'int64' } },
      notes: { description: 'For the courier.', type: ['string', 'null'] },
      priority: { $ref: '#/$defs/Priority', description: 'How urgent it is.' },
      quantity: { description: 'How many.', type: 'integer', format: 'uint32', minimum: 0 },
      tags: { type: 'array', items: { type: 'string' } },
      weight: { description: 'In kilograms.', type: 'number', format: 'double' },
    },
    additionalProperties: false,
    required: ['customer', 'quantity', 'weight', 'gift', 'priority', 'tags', 'lucky_numbers', 'address'],
    $defs: {
      Address: {
        type: 'object',
        properties: {
          street: { description: 'Street and number.', type: 'string' },
          zip: { type: ['string', 'null'] },
        },
        additionalProperties: false,
        required: ['street'],
      },
      Carrier: {
        oneOf: [
          { description: 'By post.', type: 'string', const: 'post' },
          { description: 'By courier.', type: 'string', const: 'courier' },
        ],
      },
      Priority: { type: 'string', enum: ['low', 'normal', 'high'] },
    },
  },
}

export const TALLY = {
  ...common,
  name: 'tally',
  description: 'Adds up counts by name.',
  source: 'src/shop.rs:40',
  input_schema: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Map_of_int64',
    type: 'object',
    additionalProperties: { type: 'integer', format: 'int64' },
  },
}
