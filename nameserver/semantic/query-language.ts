/**
 * Which language a discovery query is written in, from its script and its function words: enough
 * to pick a bilingual dictionary, and to leave English queries alone.
 *
 * - Kana anywhere → Japanese; Han characters without kana → Chinese (a Japanese dictionary is the
 *   fallback: most Han words are shared).
 * - Latin script: the language with the most function words in the query ("der", "und", "mit";
 *   "le", "pour", "avec"; ...) plus letters only it uses (ß, ñ, ç, ...). It must have at least
 *   two such hints and more than English has, so an English request that happens to contain "die"
 *   or "also" stays English.
 *
 * The word lists are the most frequent function words of each language (articles, pronouns,
 * prepositions, conjunctions, auxiliaries), not words of any catalog or query set.
 */

const words = (s: string): ReadonlySet<string> => new Set(s.split(/\s+/).filter(Boolean));

/** Function words per ISO 639-3 code; English is the language left untranslated. */
export const FUNCTION_WORDS: Readonly<Record<string, ReadonlySet<string>>> = {
  eng: words(`the a an and or but of to in on at for with from by about into over is are was were be been being
    have has had do does did can could will would should shall may might must this that these those it its
    i me my we our us you your he she his her they their them what which who whom when where why how not
    no please there here if then than so just all any some each every`),
  deu: words(`der die das den dem des ein eine einen einem einer eines und oder aber nicht kein keine ich du er
    sie es wir ihr mich mir dich dir uns euch mein meine meinen meinem unser unsere unseren unserem dein deine
    ist sind war waren wird werden wurde hat haben habe kann kannst können soll sollte muss müssen möchte bitte
    mit von zu zum zur für auf aus bei nach über unter vor im ins am vom wie was wer wo wann warum dass ob
    auch noch schon nur sehr diese dieser diesen diesem dieses alle allen jede jeden`),
  fra: words(`le la les un une des du de au aux et ou mais ne pas je tu il elle nous vous ils elles on me te se
    moi toi mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs ce cet cette ces qui que quoi dont
    où est sont était être avoir ai as avez ont fait faire peux peut pouvez veux voudrais dois pour avec dans
    sur sous par chez sans entre vers comme quand si très aussi tout tous toute toutes chaque après avant`),
  spa: words(`el la los las un una unos unas y o pero no ni yo tú él ella nosotros vosotros ellos ellas me te se
    nos os le les mi mis tu tus su sus nuestro nuestra nuestros nuestras este esta estos estas ese esa eso
    que qué quien quién cual cuál cuando cuándo donde dónde como cómo cuánto cuánta cuántos es son está están
    era ser estar hay tengo tiene tienen puedo puede quiero quiere necesito de del al en con por para sin sobre
    entre hasta desde muy también todo todos toda todas cada según`),
  ita: words(`il lo la i gli le un uno una e o ma non io tu lui lei noi voi loro mi ti si ci vi mio mia miei mie
    tuo tua suo sua nostro nostra vostro questo questa questi queste quello quella che chi cosa quando dove
    come quanto è sono era essere avere ho hai ha abbiamo hanno posso puoi può voglio vorrei di del della dei
    delle da dal dalla in nel nella con per su sul sulla tra fra molto anche tutto tutti ogni`),
  por: words(`o a os as um uma uns umas e ou mas não eu tu ele ela nós vós eles elas me te se nos meu minha meus
    minhas seu sua seus suas nosso nossa este esta estes estas esse essa isso que quem qual quando onde como
    quanto é são era ser estar está estão tenho tem têm posso pode quero preciso de do da dos das no na nos nas
    em com por para sem sobre entre até desde muito também todo todos toda todas cada você vocês`),
  nld: words(`de het een en of maar niet geen ik jij je hij zij ze wij we jullie mij me mijn jouw zijn haar ons
    onze hun dit dat deze die wie wat welke wanneer waar waarom hoe is zijn was waren wordt worden heb hebt
    heeft hebben kan kunt kunnen wil wilt moet moeten zou graag met van voor op aan uit bij naar over onder in
    om tot door ook nog al alleen zeer heel alle elke`),
};

/** Letters one Latin-script language uses and the others in FUNCTION_WORDS do not (each distinct one is a hint). */
const LETTERS: Readonly<Record<string, RegExp>> = {
  deu: /[ßäöü]/g,
  fra: /[çèêëîïôûùœæ]/g,
  spa: /[ñ¿¡]/g,
  ita: /[ìò]/g,
  por: /[ãõ]/g,
};

const KANA = /[\p{Script=Hiragana}\p{Script=Katakana}]/u;
const HAN = /\p{Script=Han}/u;

/** Lower-cased letter runs of a Latin-script text (apostrophes split: "l'ordre" → "l", "ordre"). */
export function latinWords(text: string): string[] {
  return text.normalize('NFC').toLowerCase().match(/\p{L}+/gu) ?? [];
}

export interface DetectedLanguage {
  /** ISO 639-3 code. */
  language: string;
  script: 'latin' | 'cjk';
}

/** The language of `text`, or undefined when it is English or cannot be told. */
export function detectLanguage(text: string): DetectedLanguage | undefined {
  if (KANA.test(text)) return { language: 'jpn', script: 'cjk' };
  if (HAN.test(text)) return { language: 'zho', script: 'cjk' };
  const tokens = latinWords(text);
  if (tokens.length === 0) return undefined;
  const lower = text.toLowerCase();
  const hints = (lang: string): number => {
    const list = FUNCTION_WORDS[lang];
    let n = 0;
    if (list) for (const t of tokens) if (list.has(t)) n++;
    const letters = LETTERS[lang];
    if (letters) n += new Set(lower.match(letters) ?? []).size;
    return n;
  };
  const english = hints('eng');
  let best: { language: string; hints: number } | undefined;
  for (const lang of Object.keys(FUNCTION_WORDS)) {
    if (lang === 'eng') continue;
    const n = hints(lang);
    if (best === undefined || n > best.hints) best = { language: lang, hints: n };
  }
  if (!best || best.hints < 2 || best.hints <= english) return undefined;
  return { language: best.language, script: 'latin' };
}
