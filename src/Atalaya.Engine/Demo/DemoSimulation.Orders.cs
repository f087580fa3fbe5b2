using System.Globalization;
using System.Text.Json;

namespace Atalaya.Engine.Demo;

/// <summary>
/// The money side of the simulation: checkout, the order with its payment attempts and status
/// history, leads and their payments, store openings and monthly subscriptions. Amounts are
/// rounded to the currency's minor unit, and an order's <c>total</c> is always
/// <c>subtotal + delivery_fee</c>; a final status snapshot's total is
/// <c>subtotal + delivery_fee − discount</c>, with the VAT included in the prices reported as <c>tax</c>.
/// </summary>
internal sealed partial class DemoSimulation
{
    private static readonly (string Value, double Weight)[] LeadPriorities = [("low", 0.35), ("medium", 0.45), ("high", 0.20)];

    private long _orderCount;
    private long _paymentCount;
    private long _leadCount;

    private void Checkout(DemoVisit visit, DemoStore store, List<(DemoProduct Product, int Quantity)> lines)
    {
        var user = visit.User;
        var country = store.Country;
        Utf8JsonWriter json;

        // Coupons are rare and come in two kinds, both keeping total = subtotal + delivery_fee:
        // free delivery, and the fully discounted order (items at 0, a zero-amount order).
        string? coupon = null;
        var freeOrder = false;
        if (_rng.Chance(0.05))
        {
            freeOrder = _rng.Chance(0.12);
            coupon = (freeOrder, country.Swedish) switch
            {
                (true, true) => "GRATIS100",
                (true, false) => "REGALO100",
                (false, true) => "FRIFRAKT",
                (false, false) => "ENVIOGRATIS",
            };
            Advance(visit, 25, 3);
            json = _writer.BeginClient("coupon_applied", visit, DemoPages.Cart(user));
            json.WriteString("coupon_code", coupon);
            json.WriteString("store_id", store.Id);
            json.WriteString("benefit", freeOrder ? "free_order" : "free_delivery");
            Enqueue(visit.Time, _writer.End());
        }

        var subtotal = 0m;
        if (!freeOrder)
        {
            foreach (var (product, quantity) in lines)
            {
                subtotal += country.Round(product.Price * quantity);
            }
        }
        var deliveryFee = coupon is null ? DeliveryFee(store, subtotal) : 0m;

        Advance(visit, 30, 4);
        json = _writer.BeginClient("checkout_started", visit, DemoPages.Checkout(user));
        json.WriteString("store_id", store.Id);
        DemoEventWriter.WriteDecimal(json, "total", subtotal + deliveryFee);
        Enqueue(visit.Time, _writer.End());

        if (!_rng.Chance(0.78))
        {
            return;
        }
        if (user.UserId is null && _rng.Chance(0.75))
        {
            SignUp(visit);
        }
        Advance(visit, 60, 10);
        PlaceOrder(visit, store, lines, freeOrder, subtotal, deliveryFee);
    }

    private decimal DeliveryFee(DemoStore store, decimal subtotal)
    {
        var country = store.Country;
        if (store.Category.Name is "electronics" or "fashion" && subtotal >= country.PriceFromUsd(60))
        {
            return 0m;
        }
        var step = Math.Max(1m, country.PriceStep);
        var steps = (int)((country.DeliveryFeeMax - country.DeliveryFeeMin) / step);
        return country.DeliveryFeeMin + (step * _rng.Next(steps + 1));
    }

    private void PlaceOrder(DemoVisit visit, DemoStore store, List<(DemoProduct Product, int Quantity)> lines,
        bool freeOrder, decimal subtotal, decimal deliveryFee)
    {
        var user = visit.User;
        var country = store.Country;
        var (method, provider) = _rng.Pick(country.PaymentMethods);
        var order = new DemoOrder(NextId("ord-", ref _orderCount, 7), store, user, subtotal, deliveryFee,
            subtotal + deliveryFee, _fx.RateOf(country), provider);

        var json = _writer.BeginClient("purchase_completed", visit, DemoPages.Checkout(user));
        json.WriteString("order_id", order.Id);
        json.WriteString("store_id", store.Id);
        json.WriteString("currency", country.Currency);
        json.WriteStartArray("items");
        foreach (var (product, quantity) in lines)
        {
            json.WriteStartObject();
            json.WriteString("product_id", product.Id);
            json.WriteNumber("quantity", quantity);
            DemoEventWriter.WriteDecimal(json, "price", freeOrder ? 0m : product.Price);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        DemoEventWriter.WriteDecimal(json, "subtotal", order.Subtotal);
        DemoEventWriter.WriteDecimal(json, "delivery_fee", order.DeliveryFee);
        DemoEventWriter.WriteDecimal(json, "total", order.Total);
        if (!freeOrder)
        {
            json.WriteString("payment_method", method);
        }
        DemoEventWriter.WriteDecimal(json, "fx_rate_to_reporting", order.Rate);
        Enqueue(visit.Time, _writer.End());

        user.Loyalty = Math.Min(1.0, user.Loyalty + 0.2);
        AddToPool(user);
        if (_rng.Chance(0.6))
        {
            user.FavoriteStore = store;
        }

        var placedAt = visit.Time;
        if (_rng.Chance(0.5))
        {
            Advance(visit, 8, 2);
            PageView(visit, DemoPages.Order(user, order.Id));
        }
        FollowOrder(order, placedAt);
    }

    /// <summary>
    /// What the backend reports after an order: CREADO, payment (about 92 % of attempts succeed; a
    /// failed one is retried about half the time, else the order is cancelled), then PAGADO →
    /// EN_PREPARACION → EN_CAMINO → ENTREGADO, with a few store cancellations and a few refunds
    /// after delivery.
    /// </summary>
    private void FollowOrder(DemoOrder order, DateTime placedAt)
    {
        var category = order.Store.Category;
        Status(order, "CREADO", placedAt.AddSeconds(_rng.Next(1, 4)));

        var paidAt = placedAt.AddSeconds(_rng.Next(2, 6));
        if (order.Total > 0)
        {
            paidAt = placedAt + _rng.Wait(6, 2);
            if (!_rng.Chance(0.92))
            {
                Payment(order, paidAt, DemoData.FailureCodes[_rng.Next(DemoData.FailureCodes.Length)]);
                var retried = _rng.Chance(0.55);
                paidAt += _rng.Wait(90, 20);
                if (!retried || !_rng.Chance(0.85))
                {
                    if (retried)
                    {
                        Payment(order, paidAt, DemoData.FailureCodes[_rng.Next(DemoData.FailureCodes.Length)]);
                    }
                    Status(order, "CANCELADO", paidAt + _rng.Wait(600, 120), Snapshot.Cancelled(order));
                    return;
                }
            }
            Payment(order, paidAt, null);
        }

        var at = paidAt + _rng.Wait(4, 1);
        Status(order, "PAGADO", at);
        if (_rng.Chance(0.035))
        {
            Status(order, "CANCELADO", at + _rng.Wait(420, 60), Snapshot.Cancelled(order));
            return;
        }
        at += _rng.Wait(150, 20);
        Status(order, "EN_PREPARACION", at);
        at = at.AddSeconds(_rng.Next(category.PrepMinutes.Min * 60, (category.PrepMinutes.Max * 60) + 1));
        if (_rng.Chance(0.05))
        {
            var assignedAt = at.AddSeconds(-_rng.Next(30, 240));
            var json = _writer.BeginServer("courier_assigned", assignedAt, order.Store.Country, order.Store, order.User);
            json.WriteString("order_id", order.Id);
            json.WriteString("courier_id", "c-" + _rng.Next(1, 900).ToString("D4", CultureInfo.InvariantCulture));
            Enqueue(assignedAt, _writer.End());
        }
        Status(order, "EN_CAMINO", at);
        at = at.AddSeconds(_rng.Next(category.RideMinutes.Min * 60, (category.RideMinutes.Max * 60) + 1));

        var delivered = Snapshot.Delivered(order, _rng.Chance(0.03) ? order.Store.Country.Round(order.Subtotal * (decimal)_rng.Between(0.1, 0.3)) : 0m);
        Status(order, "ENTREGADO", at, delivered);
        if (order.Total > 0 && _rng.Chance(0.015))
        {
            Status(order, "REEMBOLSADO", at.AddSeconds(_rng.Next(2 * 3600, 72 * 3600)), delivered with { Commission = 0m });
        }
    }

    private void Status(DemoOrder order, string status, DateTime at, Snapshot? snapshot = null)
    {
        var json = _writer.BeginServer("order_status_changed", at, order.Store.Country, order.Store, order.User);
        json.WriteString("order_id", order.Id);
        json.WriteString("store_id", order.Store.Id);
        json.WriteString("status", status);
        if (snapshot is { } s)
        {
            json.WriteStartObject("snapshot");
            DemoEventWriter.WriteDecimal(json, "subtotal", s.Subtotal);
            DemoEventWriter.WriteDecimal(json, "delivery_fee", s.DeliveryFee);
            DemoEventWriter.WriteDecimal(json, "discount", s.Discount);
            DemoEventWriter.WriteDecimal(json, "tax", s.Tax);
            DemoEventWriter.WriteDecimal(json, "total", s.Total);
            DemoEventWriter.WriteDecimal(json, "commission_amount", s.Commission);
            json.WriteString("currency", order.Store.Country.Currency);
            DemoEventWriter.WriteDecimal(json, "fx_rate_to_reporting", order.Rate);
            json.WriteEndObject();
        }
        Enqueue(at, _writer.End());
    }

    private void Payment(DemoOrder order, DateTime at, string? failureCode)
    {
        var json = _writer.BeginServer(failureCode is null ? "payment_succeeded" : "payment_failed", at, order.Store.Country, order.Store, order.User);
        json.WriteString("payment_id", NextId("pay-", ref _paymentCount, 7));
        DemoEventWriter.WriteDecimal(json, "amount", order.Total);
        json.WriteString("currency", order.Store.Country.Currency);
        json.WriteString("provider", order.Provider);
        json.WriteString("order_id", order.Id);
        if (failureCode is not null)
        {
            json.WriteString("failure_code", failureCode);
        }
        DemoEventWriter.WriteDecimal(json, "fx_rate_to_reporting", order.Rate);
        Enqueue(at, _writer.End());
    }

    /// <summary>
    /// A business enquiry (catering, office orders) from a signed-up shopper. Likelier the higher
    /// its priority, the lead pays within 7 days; a few pay later, outside the conversion window.
    /// </summary>
    private void CreateLead(DemoVisit visit)
    {
        var user = visit.User;
        var country = user.Country;
        var priority = _rng.Pick(LeadPriorities);
        var leadId = NextId("lead-", ref _leadCount, 6);
        Advance(visit, 90, 20);
        var json = _writer.BeginClient("lead_created", visit, DemoPages.Business(user));
        json.WriteString("lead_id", leadId);
        json.WriteString("source", visit.Source);
        json.WriteString("priority", priority);
        Enqueue(visit.Time, _writer.End());

        var converts = priority switch
        {
            "high" => 0.55,
            "medium" => 0.35,
            _ => 0.15,
        };
        double? afterHours = _rng.Chance(converts) ? _rng.Between(0.5, 6.9 * 24)
            : _rng.Chance(0.1) ? _rng.Between(8 * 24, 14 * 24)
            : null;
        if (afterHours is not { } hours)
        {
            return;
        }
        var at = visit.Time.AddSeconds(Math.Round(hours * 3600));
        json = _writer.BeginServer("payment_succeeded", at, country, null, user);
        json.WriteString("payment_id", NextId("pay-", ref _paymentCount, 7));
        DemoEventWriter.WriteDecimal(json, "amount", country.Round(country.PriceFromUsd(_rng.Between(25, 150))));
        json.WriteString("currency", country.Currency);
        json.WriteString("provider", country.PaymentMethods[0].Provider);
        json.WriteString("lead_id", leadId);
        DemoEventWriter.WriteDecimal(json, "fx_rate_to_reporting", _fx.RateOf(country));
        Enqueue(at, _writer.End());
    }

    private void OpenStores(DateTime dayStart)
    {
        var dayEnd = dayStart.AddDays(1);
        foreach (var store in _world.Stores)
        {
            if (store.CreatedAt < dayStart || store.CreatedAt >= dayEnd)
            {
                continue;
            }
            var json = _writer.BeginServer("store_created", store.CreatedAt, store.Country, store, null);
            json.WriteString("store_id", store.Id);
            json.WriteString("store_name", store.Name);
            json.WriteString("country", store.Country.Code);
            json.WriteString("hub", store.Hub);
            json.WriteString("zone", store.Zone);
            json.WriteString("category", store.Category.Name);
            Enqueue(store.CreatedAt, _writer.End());
            ChargeSubscription(store, store.CreatedAt.AddHours(1));
        }
    }

    /// <summary>A store pays when it opens and then on the first of every month: once per calendar month.</summary>
    private void ChargeMonthlySubscriptions(DateTime dayStart)
    {
        if (dayStart.Day != 1)
        {
            return;
        }
        for (var i = 0; i < _world.Stores.Length; i++)
        {
            if (_world.Stores[i].CreatedAt < dayStart)
            {
                ChargeSubscription(_world.Stores[i], dayStart.AddHours(2).AddMinutes(i));
            }
        }
    }

    private void ChargeSubscription(DemoStore store, DateTime at)
    {
        var country = store.Country;
        var json = _writer.BeginServer("subscription_charged", at, country, store, null);
        json.WriteString("store_id", store.Id);
        DemoEventWriter.WriteDecimal(json, "amount", store.Plan == "pro" ? country.ProPlan : country.BasicPlan);
        json.WriteString("currency", country.Currency);
        json.WriteString("plan", store.Plan);
        DemoEventWriter.WriteDecimal(json, "fx_rate_to_reporting", _fx.RateOf(country));
        Enqueue(at, _writer.End());
    }

    private sealed record DemoOrder(string Id, DemoStore Store, DemoUser User, decimal Subtotal, decimal DeliveryFee,
        decimal Total, decimal Rate, string Provider);

    /// <summary>The amounts frozen with a final status (docs/events.md).</summary>
    private readonly record struct Snapshot(decimal Subtotal, decimal DeliveryFee, decimal Discount, decimal Tax, decimal Total, decimal Commission)
    {
        public static Snapshot Cancelled(DemoOrder order) =>
            new(order.Subtotal, order.DeliveryFee, 0m, VatIncluded(order, order.Subtotal), order.Total, 0m);

        /// <summary>A delivered order; <paramref name="discount"/> is a goodwill credit for a missing or late item.</summary>
        public static Snapshot Delivered(DemoOrder order, decimal discount)
        {
            var country = order.Store.Country;
            var net = order.Subtotal - discount;
            return new(order.Subtotal, order.DeliveryFee, discount, VatIncluded(order, net), net + order.DeliveryFee,
                country.Round(net * order.Store.Category.CommissionRate));
        }

        private static decimal VatIncluded(DemoOrder order, decimal net)
        {
            var vat = order.Store.Country.VatRate;
            return order.Store.Country.Round(net * vat / (1 + vat));
        }
    }
}
