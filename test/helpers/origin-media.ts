// Project-made media for the origin (reuse or imitation) tests and benchmark: espeak-ng texts and a music bed.

/** Paragraphs read by espeak-ng (en-us, 125 wpm) into reference recordings of 33 s or more. */
export const REFERENCE_TEXTS = [
  'The quick brown fox jumps over the lazy dog. Yesterday I went to the market and bought some apples, bread and cheese for the weekend. My neighbour told me that the weather would be lovely, so we planned a picnic by the river. The children wanted to bring their kites, and grandmother promised to bake a cake. In the afternoon the clouds rolled in and it began to rain, so we ran back home laughing. After dinner we played cards until midnight, and the dog slept by the fire. In the morning the garden smelled of wet grass and everybody wanted pancakes.',
  'Please remember to switch off the lights before you leave the office. The quarterly report is due next Tuesday and the figures still need checking. Our new colleague from the design team will present the prototype on Friday morning. Coffee and biscuits will be served in the main hall after the meeting. Parking on the north side is closed for repairs until the end of the month, so please use the visitor car park behind the library. Thank you all for your patience while the lifts are being replaced.',
  'Once upon a time a young sailor set out across the northern sea in search of a lighthouse that no map could show. He traded stories for bread in every harbour, and each story grew a little longer than the last. When winter came the waves rose higher than the masts, yet he kept the lantern burning and sang the songs his mother taught him, until one night a faint light answered from the rocks. He rowed towards it until dawn, and there on the cliff stood an old woman holding a lamp.',
  'Welcome aboard flight two hundred and twelve to Lisbon. Please make sure your seat belt is fastened and your tray table is stowed. The flight time today will be two hours and forty minutes, and we expect a smooth journey with clear skies over the coast. Snacks and drinks will be offered shortly after take off. If you need anything at all, press the call button above your seat and a member of the crew will be happy to help.',
  'To plant a tomato seedling, dig a hole twice as deep as the pot and loosen the soil at the bottom. Set the plant in so that the lowest leaves sit just above the ground, then fill the hole and press the earth down gently. Water it well in the evening, and tie the stem to a cane once it grows taller than your hand. Pinch out the side shoots every week, and feed the plant when the first flowers appear.',
];
/** Other sentences of the same voice: new speech, never reuse. */
export const OTHER_SENTENCES = [
  'I would like a cup of tea with milk and no sugar, please, and a slice of that lemon cake.',
  'The train to the city leaves from platform four at half past nine every morning except Sunday.',
  'Our new colleague will present the prototype on Friday.',
];

/** Background "music": a chord progression from ffmpeg's aevalsrc (a lavfi input, 40 s). */
export const MUSIC_SOURCE = "aevalsrc='0.3*sin(2*PI*220*t*(1+floor(mod(t,4))/4))+0.2*sin(2*PI*330*t)+0.1*sin(2*PI*(440+110*floor(mod(t*2,3)))*t)':s=22050:d=40";
