"""Canonical entities, their fields, and the header synonyms that map to them.

Three entities come out of customer spreadsheets: ``contact``, ``deal`` and
``order``. Every field has a *kind* that names the cleaner applied to it.

>>> from crmkit.schema import ENTITIES
>>> [f.name for f in ENTITIES["contact"].fields][:4]
['first_name', 'last_name', 'full_name', 'salutation']
"""
from __future__ import annotations

from dataclasses import dataclass, field

SOURCE_COLUMNS = ["source_file", "source_sheet", "source_row"]
ISSUE_COLUMNS = ["source_file", "source_sheet", "source_row", "column", "value", "problem"]


@dataclass(frozen=True)
class Field:
    """One canonical field: its name, the kind of value, and header synonyms."""

    name: str
    kind: str  # text, name, email, phone, company, country, date, amount, currency, probability, stage, tags
    synonyms: tuple[str, ...] = ()
    identifying: bool = False  # does a column of this field say which entity a sheet holds?


@dataclass(frozen=True)
class Entity:
    name: str
    id_column: str
    fields: tuple[Field, ...] = field(default_factory=tuple)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def get(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


_F = Field

CONTACT = Entity(
    "contact",
    "contact_id",
    (
        _F("first_name", "name", ("first name", "firstname", "given name", "forename", "fname", "vorname",
                                   "prénom", "prenom", "nombre", "名", "名字")),
        _F("last_name", "name", ("last name", "lastname", "surname", "family name", "lname", "nachname",
                                  "familienname", "nom de famille", "nom", "apellido", "apellidos", "姓", "姓氏")),
        _F("full_name", "name", ("name", "full name", "fullname", "contact", "contact name", "customer name",
                                  "customer", "client", "client name", "person", "attendee", "lead name",
                                  "vollständiger name", "kontakt", "ansprechpartner", "kunde", "kundenname",
                                  "nom complet", "nom du contact", "nombre completo", "cliente", "contacto",
                                  "姓名", "联系人", "客户", "客户名称", "客户姓名")),
        _F("salutation", "text", ("salutation", "title prefix", "honorific", "prefix", "anrede", "civilité",
                                   "civilite", "tratamiento", "称呼", "称谓")),
        _F("email", "email", ("email", "e-mail", "email address", "e-mail address", "mail", "emailaddress",
                               "email addr", "e mail", "e-mail-adresse", "emailadresse", "courriel",
                               "adresse e-mail", "adresse email", "correo", "correo electrónico",
                               "correo electronico", "邮箱", "电子邮件", "电子邮箱", "邮件", "邮件地址"),
           identifying=True),
        _F("phone", "phone", ("phone", "phone number", "telephone", "tel", "tel.", "phone #", "work phone",
                               "business phone", "office phone", "landline", "telefon", "telefonnummer",
                               "rufnummer", "téléphone", "telephone fixe", "teléfono", "telefono", "电话",
                               "电话号码", "联系电话", "座机"), identifying=True),
        _F("mobile", "phone", ("mobile", "mobile phone", "mobile #", "mobile number", "cell", "cell phone",
                                "cellphone", "handy", "mobil", "mobiltelefon", "mobilnummer", "portable",
                                "téléphone portable", "móvil", "movil", "celular", "手机", "手机号", "手机号码",
                                "移动电话"), identifying=True),
        _F("company", "company", ("company", "company name", "organisation", "organization", "org",
                                   "account", "account name", "employer", "business", "firm", "firma",
                                   "firmenname", "unternehmen", "société", "societe", "entreprise",
                                   "empresa", "compañía", "compania", "公司", "公司名称", "单位", "企业")),
        _F("job_title", "text", ("job title", "title", "position", "role", "job", "designation", "job role",
                                  "berufsbezeichnung", "position/titel", "funktion", "titel", "poste",
                                  "fonction", "cargo", "puesto", "职位", "职务", "头衔")),
        _F("street", "text", ("street", "address", "street address", "address line 1", "address 1",
                               "straße", "strasse", "anschrift", "adresse", "rue", "dirección", "direccion",
                               "地址", "街道")),
        _F("postcode", "text", ("postcode", "postal code", "zip", "zip code", "zipcode", "post code", "plz",
                                 "postleitzahl", "code postal", "cp", "código postal", "codigo postal", "邮编",
                                 "邮政编码")),
        _F("city", "text", ("city", "town", "locality", "ort", "stadt", "wohnort", "ville", "ciudad",
                             "localidad", "城市", "市")),
        _F("region", "text", ("state", "province", "region", "county", "bundesland", "état", "provincia",
                               "省", "省份", "地区")),
        _F("country", "country", ("country", "country/region", "nation", "land", "pays", "país", "pais",
                                   "国家", "国家/地区")),
        _F("website", "text", ("website", "web", "url", "homepage", "webseite", "site web", "sitio web", "网站")),
        _F("owner", "text", ("owner", "contact owner", "account owner", "sales rep", "rep", "assigned to",
                              "betreuer", "verantwortlich", "propriétaire", "responsable", "负责人", "销售")),
        _F("tags", "tags", ("tags", "tag", "labels", "label", "segment", "category", "list", "lists",
                             "schlagworte", "kategorie", "étiquettes", "etiquetas", "标签", "分类")),
        _F("notes", "text", ("notes", "note", "comments", "comment", "remarks", "description", "notizen",
                              "bemerkung", "bemerkungen", "kommentar", "remarques", "commentaire", "notas",
                              "comentarios", "备注", "说明")),
        _F("created_at", "date", ("created", "created at", "created on", "create date", "date created",
                                   "date added", "signup date", "sign-up date", "registered", "erstellt",
                                   "erstellt am", "angelegt am", "date de création", "fecha de alta",
                                   "fecha de creación", "创建时间", "创建日期", "注册日期")),
    ),
)

DEAL = Entity(
    "deal",
    "deal_id",
    (
        _F("name", "text", ("deal", "deal name", "opportunity", "opportunity name", "deal title", "project",
                             "opportunity title", "chance", "verkaufschance", "projekt", "affaire",
                             "opportunité", "oportunidad", "negocio", "商机", "商机名称", "项目"), identifying=True),
        _F("company", "company", CONTACT.get("company").synonyms),
        _F("contact_email", "email", CONTACT.get("email").synonyms + ("contact email",)),
        _F("contact_name", "name", CONTACT.get("full_name").synonyms),
        _F("stage", "stage", ("stage", "deal stage", "sales stage", "pipeline stage", "status", "phase",
                               "phase/status", "stufe", "étape", "etapa", "阶段", "销售阶段"), identifying=True),
        _F("amount", "amount", ("amount", "value", "deal value", "deal amount", "opportunity amount", "revenue",
                                 "expected revenue", "size", "betrag", "wert", "volumen", "montant", "valeur",
                                 "importe", "valor", "金额", "预计金额")),
        _F("currency", "currency", ("currency", "curr", "currency code", "währung", "devise", "moneda", "币种",
                                     "货币")),
        _F("probability", "probability", ("probability", "probability (%)", "win probability", "chance %",
                                           "likelihood", "wahrscheinlichkeit", "probabilité", "probabilidad",
                                           "赢单率", "概率"), identifying=True),
        _F("close_date", "date", ("close date", "expected close date", "closing date", "close", "close month",
                                   "expected close", "abschlussdatum", "date de clôture", "fecha de cierre",
                                   "预计成交日期", "成交日期"), identifying=True),
        _F("owner", "text", CONTACT.get("owner").synonyms + ("deal owner", "opportunity owner")),
        _F("created_at", "date", CONTACT.get("created_at").synonyms),
        _F("notes", "text", CONTACT.get("notes").synonyms),
    ),
)

ORDER = Entity(
    "order",
    "order_id",
    (
        _F("order_id", "text", ("order id", "order", "order no", "order no.", "order number", "order #",
                                 "invoice", "invoice no", "invoice number", "invoice #", "transaction id",
                                 "bestellnummer", "bestellung", "auftragsnummer", "rechnungsnummer",
                                 "numéro de commande", "commande", "n° commande", "pedido", "número de pedido",
                                 "订单号", "订单编号", "单号"), identifying=True),
        _F("customer_email", "email", CONTACT.get("email").synonyms + ("customer email", "buyer email")),
        _F("customer_name", "name", CONTACT.get("full_name").synonyms + ("buyer", "bill to")),
        _F("order_date", "date", ("order date", "date", "purchase date", "invoice date", "transaction date",
                                   "ordered", "bestelldatum", "datum", "rechnungsdatum", "date de commande",
                                   "fecha", "fecha de pedido", "下单日期", "订单日期", "日期"), identifying=True),
        _F("amount", "amount", ("amount", "total", "order total", "order value", "grand total", "net amount",
                                 "revenue", "sales", "price", "betrag", "summe", "gesamtbetrag", "umsatz",
                                 "montant", "total ttc", "importe", "total pedido", "金额", "订单金额", "总额",
                                 "总金额"), identifying=True),
        _F("currency", "currency", DEAL.get("currency").synonyms),
        _F("status", "text", ("order status", "status", "bestellstatus", "statut", "estado", "订单状态", "状态")),
        _F("product", "text", ("product", "item", "sku", "artikel", "produkt", "produit", "producto", "产品",
                                "商品")),
        _F("quantity", "amount", ("quantity", "qty", "menge", "anzahl", "quantité", "cantidad", "数量")),
    ),
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (CONTACT, DEAL, ORDER)}

DEFAULT_STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]

# Store columns per entity table, in order (ids and links first, provenance last).
CONTACT_COLUMNS = ["contact_id"] + CONTACT.field_names + ["company_key", "phone_ext", "emails", "phones"]
DEAL_COLUMNS = ["deal_id", "name", "contact_id", "company", "company_key", "contact_email", "contact_name",
                "stage", "amount", "currency", "probability", "close_date", "owner", "created_at", "notes"]
ORDER_COLUMNS = ["order_id", "contact_id", "customer_email", "customer_name", "order_date", "amount",
                 "currency", "status", "product", "quantity"]
