from django.urls import path

from assistant_app import views

urlpatterns = [
    path("chat", views.ChatView.as_view(), name="chat"),
    path("chat/history", views.ChatHistoryView.as_view(), name="chat-history"),
    path("tokens", views.TokenListView.as_view(), name="tokens"),
    path("tokens/<str:token_id>", views.TokenDetailView.as_view(), name="token-detail"),
]
