// A tree in the original JavaScript Genarun's own file format (an ES module), written for
// Genarun Studio as an example: `genarun run original-style.js --mock --input year=2024`.
// Studio reads it as data (it is parsed, never run). See the README, "The original
// Genarun's format".

/* The models every node names by profile ("text", "image"); projectConfig below
   carries them with the shorthand property `models`. */
const models = {
  text: {
    endpoint: "gpt-4o-mini",
    defaultParams: { temperature: 0.7, presence_penalty: -0.5 },
  },
  image: {
    endpoint: "dall-e-3",
    defaultParams: { size: "1024x1024", quality: "standard" },
  },
};

export const almanacTree = {
  id: "almanac",
  type: "object", // no prompt: it only groups its children, as the original's root did
  requiredInputs: ["year"],

  generations: [
    {
      id: "festivals",
      type: "text-array",
      outputKey: "festivals",
      config: {
        prompt: [
          {
            template:
              "Invent twenty small-town festivals that could be held in ${year}, each with one odd tradition.",
          },
          {
            parseJson: true,
            template:
              "Keep the three most charming as a JSON array of short strings: {data: ['...', '...']}.",
          },
        ],
        model: { name: "text", temperature: 0.9 },
      },
      validation: { minLength: 3, maxLength: 3 },
      generations: [
        {
          id: "profile",
          type: "object",
          requiredInputs: ["i"],
          outputKey: "festival",
          config: {
            prompt: [
              {
                system: "You write warm, precise almanac entries.",
                template: "The festival: ${i}",
              },
              {
                parseJson: true,
                template: `Describe this festival for the almanac as JSON.

  Format:
  {
    "name": "The festival's name",
    "town": "Where it is held",
    "tradition": "Its odd tradition, in one sentence",
    "posterIdea": "What its poster shows"
  }`,
              },
            ],
            // The original's tree1.js writes the keys an answer must have here, in config.
            validation: { required: ["name", "town", "tradition", "posterIdea"] },
          },
          generations: [
            {
              id: "poster",
              type: "image",
              // "posterIdea" and "name" are fields of the festival object above: visible
              // by bare name to its descendants.
              requiredInputs: ["posterIdea"],
              config: {
                prompt: {
                  prefix: "A screen-printed festival poster:",
                  template: "${posterIdea}, titled ${name}",
                  suffix: "in two ink colours",
                },
                model: { name: "image" },
              },
            },
            {
              id: "stalls",
              type: "text-array",
              requiredInputs: ["tradition"],
              outputKey: "stalls",
              config: {
                prompt: [
                  {
                    parseJson: true,
                    template:
                      "List four market stalls at ${name} in ${town}, where ${tradition}, as a JSON array of strings.",
                  },
                ],
              },
              validation: { minLength: 4 },
            },
          ],
        },
      ],
    },
  ],
};

export const projectConfig = {
  baseDir: "almanac",
  maxRetries: 2,
  models,
  generations: [almanacTree],
};
