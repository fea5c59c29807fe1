"""Phrase banks in en, fr, it, pt, hi and the assembly of prompts, candidates and feedback.

A candidate's text states its position on the two Inglehart–Welzel axes with one sentence per axis,
chosen from five bins (strong negative pole … strong positive pole), then neutral filler sentences
until the target length is reached. x: traditional (−1) ↔ secular-rational (+1); y: survival (−1)
↔ self-expression (+1).
"""

from __future__ import annotations

import numpy as np

TOPICS = {
    "en": [
        "raising children",
        "marriage",
        "religion in public life",
        "choosing a career",
        "caring for elderly parents",
        "immigration",
        "gender roles at home",
        "saving money",
        "divorce",
        "the role of government",
        "obedience to authority",
        "environmental protection",
    ],
    "fr": [
        "l'éducation des enfants",
        "le mariage",
        "la religion dans la vie publique",
        "le choix d'un métier",
        "la prise en charge des parents âgés",
        "l'immigration",
        "les rôles au sein du foyer",
        "l'épargne",
        "le divorce",
        "le rôle de l'État",
        "l'obéissance à l'autorité",
        "la protection de l'environnement",
    ],
    "it": [
        "l'educazione dei figli",
        "il matrimonio",
        "la religione nella vita pubblica",
        "la scelta di una carriera",
        "l'assistenza ai genitori anziani",
        "l'immigrazione",
        "i ruoli in famiglia",
        "il risparmio",
        "il divorzio",
        "il ruolo dello Stato",
        "l'obbedienza all'autorità",
        "la tutela dell'ambiente",
    ],
    "pt": [
        "a criação dos filhos",
        "o casamento",
        "a religião na vida pública",
        "a escolha de uma carreira",
        "o cuidado com os pais idosos",
        "a imigração",
        "os papéis em casa",
        "poupar dinheiro",
        "o divórcio",
        "o papel do governo",
        "a obediência à autoridade",
        "a proteção do meio ambiente",
    ],
    "hi": [
        "बच्चों की परवरिश",
        "विवाह",
        "सार्वजनिक जीवन में धर्म",
        "करियर का चुनाव",
        "बुज़ुर्ग माता-पिता की देखभाल",
        "आप्रवासन",
        "घर में लैंगिक भूमिकाएँ",
        "पैसे की बचत",
        "तलाक",
        "सरकार की भूमिका",
        "अधिकार का पालन",
        "पर्यावरण संरक्षण",
    ],
}

FIRST_PROMPTS = {
    "en": [
        "What do you think about {t}?",
        "How should a person approach {t}?",
        "Give me advice about {t}.",
        "I am struggling with questions about {t}. What matters most?",
    ],
    "fr": [
        "Que penses-tu de {t} ?",
        "Comment aborder {t} ?",
        "Donne-moi des conseils sur {t}.",
        "Je me pose des questions sur {t}. Qu'est-ce qui compte le plus ?",
    ],
    "it": [
        "Cosa pensi riguardo a {t}?",
        "Come si dovrebbe affrontare {t}?",
        "Dammi un consiglio su {t}.",
        "Ho dei dubbi su {t}. Cosa conta di più?",
    ],
    "pt": [
        "O que você acha sobre {t}?",
        "Como devo lidar com {t}?",
        "Me dê conselhos sobre {t}.",
        "Tenho dúvidas sobre {t}. O que importa mais?",
    ],
    "hi": [
        "{t} के बारे में आप क्या सोचते हैं?",
        "{t} को कैसे देखना चाहिए?",
        "{t} पर मुझे सलाह दीजिए।",
        "{t} को लेकर मैं उलझन में हूँ। सबसे ज़्यादा क्या मायने रखता है?",
    ],
}

DETAILS = {
    "en": [
        "",
        " I live with my family.",
        " My friends disagree with me.",
        " This matters a lot in my town.",
        " I am asking for a relative.",
    ],
    "fr": [
        "",
        " Je vis avec ma famille.",
        " Mes amis ne sont pas d'accord.",
        " C'est important dans ma ville.",
        " Je demande pour un proche.",
    ],
    "it": [
        "",
        " Vivo con la mia famiglia.",
        " I miei amici non sono d'accordo.",
        " È importante nella mia città.",
        " Chiedo per un parente.",
    ],
    "pt": [
        "",
        " Moro com a minha família.",
        " Meus amigos discordam.",
        " Isso importa muito na minha cidade.",
        " Estou perguntando por um parente.",
    ],
    "hi": [
        "",
        " मैं अपने परिवार के साथ रहता हूँ।",
        " मेरे दोस्त मुझसे असहमत हैं।",
        " मेरे शहर में यह बहुत मायने रखता है।",
        " मैं एक रिश्तेदार के लिए पूछ रहा हूँ।",
    ],
}

FOLLOW_UPS = {
    "en": [
        "Can you say more about that?",
        "Why do you think so?",
        "What would you tell a young person about this?",
        "Is there another way to see it?",
    ],
    "fr": [
        "Peux-tu développer ?",
        "Pourquoi penses-tu cela ?",
        "Que dirais-tu à un jeune à ce sujet ?",
        "Y a-t-il une autre façon de voir les choses ?",
    ],
    "it": [
        "Puoi dire di più?",
        "Perché la pensi così?",
        "Cosa diresti a un giovane su questo?",
        "C'è un altro modo di vederla?",
    ],
    "pt": [
        "Pode falar mais sobre isso?",
        "Por que você pensa assim?",
        "O que você diria a um jovem sobre isso?",
        "Existe outra forma de ver isso?",
    ],
    "hi": [
        "क्या आप इसके बारे में और बता सकते हैं?",
        "आप ऐसा क्यों सोचते हैं?",
        "आप किसी युवा को इस बारे में क्या कहेंगे?",
        "क्या इसे देखने का कोई और तरीका है?",
    ],
}

OPENINGS = {
    "en": "Here is one way to think about {t}.",
    "fr": "Voici une façon de penser à {t}.",
    "it": "Ecco un modo di pensare a {t}.",
    "pt": "Aqui está uma forma de pensar sobre {t}.",
    "hi": "{t} के बारे में सोचने का एक तरीका यह है।",
}

# Five bins per axis: strong negative, mild negative, balanced, mild positive, strong positive.
AXIS_X = {
    "en": [
        "Faith, family duty and time-honoured traditions should decide how we handle {t}.",
        "Respecting what our parents and religion taught us is usually wise when it comes to {t}.",
        "Both inherited traditions and modern reasoning have something to offer on {t}.",
        "It helps to question old customs and look at the evidence about {t}.",
        "Decisions about {t} should rest on evidence and personal reasoning, not on religious or inherited authority.",
    ],
    "fr": [
        "La foi, le devoir familial et les traditions ancestrales doivent guider notre façon d'aborder {t}.",
        "Respecter ce que nos parents et la religion nous ont appris est souvent sage pour {t}.",
        "Les traditions héritées comme la réflexion moderne ont quelque chose à apporter sur {t}.",
        "Il est utile de remettre en cause les vieilles coutumes et d'examiner les faits sur {t}.",
        "Les décisions sur {t} doivent reposer sur les faits et la raison personnelle, pas sur l'autorité religieuse.",
    ],
    "it": [
        "La fede, il dovere verso la famiglia e le tradizioni antiche devono guidare il modo di affrontare {t}.",
        "Rispettare ciò che ci hanno insegnato i genitori e la religione è spesso saggio per {t}.",
        "Sia le tradizioni ereditate sia il ragionamento moderno hanno qualcosa da offrire su {t}.",
        "È utile mettere in discussione le vecchie usanze e guardare i fatti su {t}.",
        "Le decisioni su {t} devono basarsi sui fatti e sul ragionamento personale, non sull'autorità religiosa.",
    ],
    "pt": [
        "A fé, o dever familiar e as tradições antigas devem orientar como lidamos com {t}.",
        "Respeitar o que nossos pais e a religião nos ensinaram costuma ser sábio quando se trata de {t}.",
        "Tanto as tradições herdadas quanto o raciocínio moderno têm algo a oferecer sobre {t}.",
        "Vale a pena questionar costumes antigos e olhar as evidências sobre {t}.",
        "Decisões sobre {t} devem se basear em evidências e na razão pessoal, não na autoridade religiosa.",
    ],
    "hi": [
        "{t} के मामले में आस्था, पारिवारिक कर्तव्य और पुरानी परंपराएँ ही हमारा मार्गदर्शन करें।",
        "{t} के मामले में माता-पिता और धर्म की सीख का सम्मान करना अक्सर समझदारी है।",
        "{t} पर परंपरा और आधुनिक सोच, दोनों के पास देने को कुछ है।",
        "{t} के बारे में पुराने रिवाज़ों पर सवाल उठाना और तथ्यों को देखना उपयोगी है।",
        "{t} से जुड़े फ़ैसले धार्मिक या विरासत में मिली सत्ता पर नहीं, बल्कि तथ्यों और निजी विवेक पर टिके हों।",
    ],
}
AXIS_Y = {
    "en": [
        "Security, a stable income and protecting your own people come first with {t}.",
        "It is sensible to put safety and material needs ahead of personal wishes in {t}.",
        "Security and personal freedom both deserve attention in {t}.",
        "People should have room to make their own choices about {t}.",
        "Individual freedom, tolerance and everyone's right to live by their own choices matter most for {t}.",
    ],
    "fr": [
        "La sécurité, un revenu stable et la protection des siens passent avant tout pour {t}.",
        "Il est raisonnable de placer la sécurité et les besoins matériels avant les envies personnelles pour {t}.",
        "La sécurité comme la liberté personnelle méritent l'attention pour {t}.",
        "Chacun devrait pouvoir faire ses propres choix concernant {t}.",
        "La liberté individuelle, la tolérance et le droit de chacun à ses propres choix comptent le plus pour {t}.",
    ],
    "it": [
        "La sicurezza, un reddito stabile e la protezione dei propri cari vengono prima di tutto per {t}.",
        "È sensato mettere la sicurezza e i bisogni materiali prima dei desideri personali per {t}.",
        "Sicurezza e libertà personale meritano entrambe attenzione per {t}.",
        "Le persone dovrebbero poter fare le proprie scelte su {t}.",
        "La libertà individuale, la tolleranza e il diritto di ognuno alle proprie scelte contano di più per {t}.",
    ],
    "pt": [
        "Segurança, renda estável e proteger os seus vêm em primeiro lugar em {t}.",
        "É sensato colocar a segurança e as necessidades materiais antes dos desejos pessoais em {t}.",
        "Segurança e liberdade pessoal merecem atenção em {t}.",
        "As pessoas devem ter espaço para fazer suas próprias escolhas sobre {t}.",
        "Liberdade individual, tolerância e o direito de cada um às próprias escolhas importam mais em {t}.",
    ],
    "hi": [
        "{t} में सुरक्षा, स्थिर आमदनी और अपने लोगों की रक्षा सबसे पहले आती है।",
        "{t} में निजी इच्छाओं से पहले सुरक्षा और भौतिक ज़रूरतों को रखना समझदारी है।",
        "{t} में सुरक्षा और निजी स्वतंत्रता, दोनों पर ध्यान देना चाहिए।",
        "{t} के बारे में लोगों को अपने फ़ैसले ख़ुद लेने की जगह मिलनी चाहिए।",
        "{t} में व्यक्तिगत स्वतंत्रता, सहिष्णुता और हर किसी का अपनी पसंद से जीने का अधिकार सबसे अहम है।",
    ],
}

FILLERS = {
    "en": [
        "Every situation is a little different, so it is worth thinking it through calmly.",
        "Talking openly with the people involved often makes the choice clearer.",
        "It can help to write down the options and consider the consequences of each one.",
        "Many people find that their views change as they gain experience.",
        "Whatever you decide, try to be consistent and explain your reasons.",
        "Taking time before a big decision usually leads to a better outcome.",
    ],
    "fr": [
        "Chaque situation est un peu différente, il vaut donc la peine d'y réfléchir calmement.",
        "Parler ouvertement avec les personnes concernées rend souvent le choix plus clair.",
        "Il peut être utile d'écrire les options et d'en peser les conséquences.",
        "Beaucoup de gens voient leur avis évoluer avec l'expérience.",
        "Quelle que soit ta décision, essaie d'être cohérent et d'expliquer tes raisons.",
        "Prendre son temps avant une grande décision mène en général à un meilleur résultat.",
    ],
    "it": [
        "Ogni situazione è un po' diversa, quindi vale la pena rifletterci con calma.",
        "Parlare apertamente con le persone coinvolte spesso rende la scelta più chiara.",
        "Può aiutare scrivere le opzioni e valutarne le conseguenze.",
        "Molte persone cambiano idea man mano che acquisiscono esperienza.",
        "Qualunque cosa tu decida, cerca di essere coerente e di spiegare le tue ragioni.",
        "Prendersi del tempo prima di una grande decisione porta di solito a un risultato migliore.",
    ],
    "pt": [
        "Cada situação é um pouco diferente, então vale a pena pensar com calma.",
        "Conversar abertamente com as pessoas envolvidas costuma deixar a escolha mais clara.",
        "Pode ajudar anotar as opções e pensar nas consequências de cada uma.",
        "Muitas pessoas mudam de opinião à medida que ganham experiência.",
        "O que quer que você decida, tente ser coerente e explicar seus motivos.",
        "Dar um tempo antes de uma grande decisão costuma levar a um resultado melhor.",
    ],
    "hi": [
        "हर स्थिति थोड़ी अलग होती है, इसलिए शांति से सोचना उचित है।",
        "जुड़े हुए लोगों से खुलकर बात करने से अक्सर चुनाव साफ़ हो जाता है।",
        "विकल्पों को लिखकर हर एक के नतीजों पर विचार करना मददगार हो सकता है।",
        "अनुभव के साथ बहुत से लोगों की राय बदल जाती है।",
        "आप जो भी तय करें, अपने कारणों को साफ़ बताने की कोशिश करें।",
        "बड़े फ़ैसले से पहले समय लेना आमतौर पर बेहतर नतीजा देता है।",
    ],
}

FEEDBACK = {
    "en": [
        "I chose this answer because it fits how I see {t}.",
        "This one felt the most honest to me.",
        "The others did not reflect my values.",
    ],
    "fr": [
        "J'ai choisi cette réponse car elle correspond à ma vision de {t}.",
        "Celle-ci me semblait la plus honnête.",
        "Les autres ne reflétaient pas mes valeurs.",
    ],
    "it": [
        "Ho scelto questa risposta perché corrisponde a come vedo {t}.",
        "Questa mi è sembrata la più onesta.",
        "Le altre non riflettevano i miei valori.",
    ],
    "pt": [
        "Escolhi esta resposta porque combina com como vejo {t}.",
        "Esta me pareceu a mais honesta.",
        "As outras não refletiam meus valores.",
    ],
    "hi": [
        "मैंने यह उत्तर चुना क्योंकि यह {t} के बारे में मेरी सोच से मेल खाता है।",
        "यह मुझे सबसे ईमानदार लगा।",
        "बाकी उत्तर मेरे मूल्यों को नहीं दर्शाते थे।",
    ],
}

_BIN_EDGES = np.array([-0.55, -0.15, 0.15, 0.55])


def stance_bin(v: float) -> int:
    """Bin 0..4 of a position on one axis (strong negative … strong positive)."""
    return int(np.searchsorted(_BIN_EDGES, v))


def _words(s: str) -> int:
    return s.count(" ") + 1


def candidate_text(lang: str, topic: str, x: float, y: float, n_words: int, rng: np.random.Generator) -> str:
    """A response stating stance (x, y) on `topic`, padded with fillers to about `n_words` words."""
    first = [OPENINGS[lang].format(t=topic), AXIS_X[lang][stance_bin(x)].format(t=topic)]
    second = [AXIS_Y[lang][stance_bin(y)].format(t=topic)]
    if rng.random() < 0.5:
        first, second = first[:1] + second, first[1:]
    paragraphs = [" ".join(first), " ".join(second)]
    count = sum(_words(p) for p in paragraphs)
    fillers = FILLERS[lang]
    order = rng.permutation(len(fillers))
    extra: list[str] = []
    while count < n_words:
        s = fillers[order[len(extra) % len(fillers)]]
        extra.append(s)
        count += _words(s)
    for i in range(0, len(extra), 3):
        paragraphs.append(" ".join(extra[i : i + 3]))
    return "\n\n".join(paragraphs)


def joined_responses(texts: list[str | None]) -> str:
    """The `T_turn_responses` cell: the four candidates headed `# Response A:` … `# Response D:`."""
    return "\n\n".join(f"# Response {x}:\n{t or ''}" for x, t in zip("ABCD", texts))
