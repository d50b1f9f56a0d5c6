/**
 * Sentences the project wrote for its sample pages, per language. They are combined by a seeded PRNG,
 * so every page differs while the sample stays reproducible byte for byte.
 */
export interface LanguageBank {
  readonly code: string;
  readonly name: string;
  /** WHATWG charset the pages of this language are served in (decoded by the text stage). */
  readonly charsets: readonly string[];
  readonly sentences: readonly string[];
  readonly titles: readonly string[];
  readonly nav: readonly string[];
  readonly cookie: string;
  readonly footer: string;
}

const EN_SUBJECTS = ['The river', 'Our small town council', 'A retired engineer', 'The new library', 'Every spring the orchard', 'The night train to the coast', 'A local bakery', 'The museum of clocks', 'Volunteers from the harbour', 'The old lighthouse keeper', 'A group of students', 'The weather station on the hill'];
const EN_VERBS = ['has changed how people think about', 'quietly documented', 'spent three years restoring', 'opened a public discussion about', 'keeps careful records of', 'was never meant to replace', 'slowly became famous for', 'depends more than ever on'];
const EN_OBJECTS = ['the flooding of the lower streets', 'hand-written maps of the valley', 'the price of bread in winter', 'migrating birds along the estuary', 'the stone bridge built in 1821', 'a collection of letters from sailors', 'the schedule of the ferry', 'seeds saved from older varieties of apple', 'the sound of the bells at noon', 'the way neighbours share their tools'];
const EN_TAILS = ['and nobody expected the results.', 'which surprised even the sceptics.', 'though the funding ran out twice.', 'according to the minutes of the last meeting.', 'and the archive is open to visitors on Saturdays.', 'while the rest of the county barely noticed.', 'so the story is still told at the market.', 'but the details are still argued about.'];

/**
 * A page's worth of distinct English sentences: each part list is dealt without replacement, so no phrase
 * repeats inside one page (real prose rarely does; the Gopher repetition filter would rightly drop it).
 */
export function englishSentences(shuffle: <T>(xs: readonly T[]) => T[]): string[] {
  const [s, v, o, t] = [shuffle(EN_SUBJECTS), shuffle(EN_VERBS), shuffle(EN_OBJECTS), shuffle(EN_TAILS)];
  return v.map((verb, i) => `${s[i]} ${verb} ${o[i]}, ${t[i]}`);
}

export const BANKS: readonly LanguageBank[] = [
  {
    code: 'en', name: 'English', charsets: ['utf-8', 'windows-1252'],
    sentences: [],
    titles: ['Notes from the valley', 'A history of the harbour', 'What the river remembers', 'Letters to the editor', 'Community garden report', 'The clockmaker\'s diary'],
    nav: ['Home', 'News', 'Archive', 'About us', 'Contact', 'Subscribe'],
    cookie: 'We use cookies to improve your experience. By continuing to browse you accept our cookie policy. Accept all',
    footer: '© 2025 Valley Chronicle. All rights reserved. Privacy policy · Terms of use · Imprint',
  },
  {
    code: 'de', name: 'Deutsch', charsets: ['utf-8', 'iso-8859-1'],
    sentences: [
      'Die Brücke über den Fluss wurde im Frühjahr gründlich renoviert.',
      'Viele Bürgerinnen und Bürger äußerten sich zufrieden über die neuen Öffnungszeiten der Bibliothek.',
      'Im Herbst führt der Wanderweg durch leuchtend gelbe Wälder und über stille Höhenzüge.',
      'Der Bäcker am Marktplatz backt sein Roggenbrot noch immer nach dem Rezept seiner Großmutter.',
      'Die Gemeinde plant, den alten Bahnhof in ein Kulturzentrum umzuwandeln.',
      'Bei der letzten Sitzung wurde lange über die Straßenbeleuchtung gestritten.',
      'Schülerinnen und Schüler haben ein Verzeichnis aller Obstbäume im Ort erstellt.',
      'Das Hochwasser im Januar hat gezeigt, wie wichtig die Deiche wirklich sind.',
      'Am Wochenende öffnet das Heimatmuseum seine Türen für Familien mit Kindern.',
      'Die Fähre über den See fährt ab Mai wieder stündlich.',
      'Ein pensionierter Förster erzählt von seinen Begegnungen mit Füchsen und Dachsen.',
      'Der Chor übt jeden Donnerstag in der kleinen Kirche neben dem Friedhof.',
    ],
    titles: ['Neues aus dem Ort', 'Die Geschichte der Fähre', 'Bericht aus dem Gemeinderat', 'Wanderungen im Herbst'],
    nav: ['Startseite', 'Aktuelles', 'Über uns', 'Kontakt', 'Impressum'],
    cookie: 'Diese Website verwendet Cookies. Mit der Nutzung stimmen Sie der Datenschutzerklärung zu. Alle akzeptieren',
    footer: '© 2025 Ortsanzeiger. Alle Rechte vorbehalten. Datenschutz · Impressum',
  },
  {
    code: 'fr', name: 'Français', charsets: ['utf-8', 'iso-8859-1'],
    sentences: [
      'Le marché du samedi attire des producteurs venus de toute la région.',
      'La bibliothèque municipale prolonge ses horaires pendant les vacances d\'été.',
      'Les pêcheurs du port racontent que la mer était plus calme autrefois.',
      'Une exposition consacrée aux horloges anciennes ouvre ses portes la semaine prochaine.',
      'Le conseil municipal a voté la rénovation complète de l\'école primaire.',
      'Chaque printemps, les cerisiers du vieux verger fleurissent presque en même temps.',
      'Les bénévoles ont recensé plus de deux cents espèces d\'oiseaux dans l\'estuaire.',
      'Le boulanger du quartier prépare encore son pain au levain dans un four à bois.',
      'La ligne de bus vers la gare sera prolongée jusqu\'au nouvel hôpital.',
      'Des étudiants ont numérisé les lettres des marins conservées à la mairie.',
      'Le phare, désormais automatisé, reste un symbole fort pour les habitants.',
      'La chorale répète tous les jeudis soir dans la salle des fêtes.',
    ],
    titles: ['Nouvelles du port', 'Chronique du marché', 'Le phare et ses gardiens', 'Vie de quartier'],
    nav: ['Accueil', 'Actualités', 'Archives', 'À propos', 'Contact'],
    cookie: 'Ce site utilise des cookies pour améliorer votre expérience. Tout accepter',
    footer: '© 2025 Le Journal du Port. Tous droits réservés. Mentions légales',
  },
  {
    code: 'es', name: 'Español', charsets: ['utf-8'],
    sentences: [
      'El mercado de los sábados reúne a productores de toda la comarca.',
      'La biblioteca municipal amplía su horario durante el verano.',
      'Los pescadores del puerto recuerdan inviernos mucho más duros que los de ahora.',
      'El ayuntamiento aprobó la restauración del antiguo puente de piedra.',
      'Cada primavera los almendros del valle florecen casi al mismo tiempo.',
      'Un grupo de voluntarios limpia la playa el primer domingo de cada mes.',
      'La panadería de la plaza sigue horneando pan con masa madre.',
      'El museo de relojes abrirá una nueva sala dedicada a los relojes de sol.',
      'Los estudiantes digitalizaron las cartas de los marineros del siglo pasado.',
      'La estación meteorológica de la colina registra datos desde hace cien años.',
    ],
    titles: ['Noticias del puerto', 'Crónica del mercado', 'El valle en primavera'],
    nav: ['Inicio', 'Noticias', 'Archivo', 'Contacto'],
    cookie: 'Utilizamos cookies para mejorar su experiencia. Aceptar todas',
    footer: '© 2025 Diario del Valle. Todos los derechos reservados. Aviso legal',
  },
  {
    code: 'ru', name: 'Русский', charsets: ['windows-1251', 'koi8-r', 'utf-8'],
    sentences: [
      'Весной река снова вышла из берегов и затопила нижние улицы города.',
      'Городская библиотека продлила часы работы на летние каникулы.',
      'Старый смотритель маяка рассказывает о штормах, которые он пережил.',
      'Школьники составили карту всех яблонь в нашем районе.',
      'На субботнем рынке можно купить мёд, сыр и свежий хлеб.',
      'Музей часов открывает новую выставку, посвящённую солнечным часам.',
      'Волонтёры каждый месяц убирают мусор на городском пляже.',
      'Паром через озеро снова ходит каждый час с начала мая.',
      'Хор репетирует по четвергам в маленькой церкви у кладбища.',
      'Метеостанция на холме ведёт записи уже больше ста лет.',
    ],
    titles: ['Новости города', 'История маяка', 'Заметки о погоде'],
    nav: ['Главная', 'Новости', 'Архив', 'Контакты'],
    cookie: 'Мы используем файлы cookie. Продолжая просмотр, вы соглашаетесь с их использованием. Принять',
    footer: '© 2025 Городская газета. Все права защищены.',
  },
  {
    code: 'ja', name: '日本語', charsets: ['shift_jis', 'euc-jp', 'utf-8'],
    sentences: [
      '春になると、川沿いの桜並木が一斉に咲き始めます。',
      '町の図書館は夏休みの間、開館時間を延長します。',
      '港の漁師たちは、昔の海はもっと穏やかだったと話します。',
      '古い時計の博物館で新しい展示が始まりました。',
      '毎月第一日曜日には、ボランティアが浜辺の清掃を行っています。',
      '駅前のパン屋は今でも祖母のレシピで食パンを焼いています。',
      '丘の上の気象観測所は百年以上記録を続けています。',
      '学生たちは船乗りの手紙をデジタル化しました。',
      '湖を渡るフェリーは五月から毎時運航を再開します。',
      '合唱団は毎週木曜日に小さな教会で練習しています。',
    ],
    titles: ['町のお知らせ', '港の物語', '季節の便り'],
    nav: ['ホーム', 'ニュース', 'アーカイブ', 'お問い合わせ'],
    cookie: '当サイトではクッキーを使用しています。閲覧を続けることで同意したものとみなします。',
    footer: '© 2025 町の新聞 無断転載を禁じます',
  },
  {
    code: 'zh', name: '中文', charsets: ['gbk', 'utf-8'],
    sentences: [
      '每年春天，河边的柳树都会长出新的嫩芽。',
      '市图书馆在暑假期间延长了开放时间。',
      '港口的渔民说，以前的海比现在平静得多。',
      '钟表博物馆下周将开放一个关于日晷的新展厅。',
      '志愿者每个月都会清理一次海滩上的垃圾。',
      '广场上的面包店仍然用老面发酵做面包。',
      '山上的气象站已经记录了一百多年的数据。',
      '学生们把水手们的旧信件全部数字化了。',
    ],
    titles: ['城市新闻', '港口的故事', '季节笔记'],
    nav: ['首页', '新闻', '档案', '联系我们'],
    cookie: '本网站使用Cookie来改善您的体验。继续浏览即表示您同意。',
    footer: '© 2025 城市日报 版权所有',
  },
  {
    code: 'ar', name: 'العربية', charsets: ['utf-8', 'windows-1256'],
    sentences: [
      'يجتمع المزارعون كل يوم سبت في السوق القديم وسط المدينة.',
      'مددت المكتبة العامة ساعات عملها خلال العطلة الصيفية.',
      'يتذكر صيادو الميناء أن البحر كان أكثر هدوءاً في الماضي.',
      'افتتح متحف الساعات قاعة جديدة مخصصة للساعات الشمسية.',
      'يقوم المتطوعون بتنظيف الشاطئ في أول يوم جمعة من كل شهر.',
      'ما زال الخباز في الساحة يخبز الخبز في فرن حجري قديم.',
      'سجلت محطة الأرصاد على التل بيانات الطقس لأكثر من مئة عام.',
      'رقمن الطلاب رسائل البحارة المحفوظة في أرشيف البلدية.',
    ],
    titles: ['أخبار المدينة', 'حكايات الميناء', 'ملاحظات الطقس'],
    nav: ['الرئيسية', 'الأخبار', 'الأرشيف', 'اتصل بنا'],
    cookie: 'يستخدم هذا الموقع ملفات تعريف الارتباط لتحسين تجربتك. موافق',
    footer: '© 2025 صحيفة المدينة. جميع الحقوق محفوظة.',
  },
  {
    code: 'pl', name: 'Polski', charsets: ['iso-8859-2', 'utf-8'],
    sentences: [
      'Wiosną rzeka znów wylała i zalała dolne ulice miasta.',
      'Biblioteka miejska wydłużyła godziny otwarcia na czas wakacji.',
      'Rybacy z portu wspominają, że dawniej morze było spokojniejsze.',
      'Muzeum zegarów otwiera nową wystawę poświęconą zegarom słonecznym.',
      'Wolontariusze co miesiąc sprzątają miejską plażę.',
      'Piekarz z rynku wciąż wypieka chleb na zakwasie według przepisu babci.',
      'Stacja meteorologiczna na wzgórzu prowadzi pomiary od ponad stu lat.',
      'Chór ćwiczy w każdy czwartek w małym kościele przy cmentarzu.',
    ],
    titles: ['Wiadomości z miasta', 'Historia latarni', 'Kronika targu'],
    nav: ['Strona główna', 'Aktualności', 'Archiwum', 'Kontakt'],
    cookie: 'Ta strona używa plików cookie. Kontynuując, zgadzasz się na ich użycie. Akceptuję',
    footer: 'Copyright 2025 Gazeta Miejska. Wszelkie prawa zastrzeżone.',
  },
];

export const SPAM_WORDS = ['cheap', 'pills', 'casino', 'bonus', 'free', 'win', 'now', 'click', 'best', 'price', 'offer', 'loans'];
